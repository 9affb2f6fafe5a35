"""One poll batch, from raw records to durable effects. The worker and `replay` share it.

The processing order for a batch:

1. decode and validate every record; a record that fails becomes a dead letter with its
   error (it is never retried: the same bytes would fail the same way);
2. open one Postgres transaction for the whole batch; for each valid event, in a savepoint:
   claim its id in the inbox (a seen id has no effect), lock the SKUs it allocates, run the
   core's decisions, write the state and the outbox rows; a rejected event (an unknown
   shipment, a reused id) and an event whose handler fails with a non-transient error
   become dead letters in the same transaction, and the batch goes on;
3. commit: every effect of the batch, its inbox rows and its outbox rows are durable
   together. A transient failure (connection, deadlock, a lost race) retries the whole
   transaction with backoff; when retries run out the error propagates and the caller
   stops *without* committing offsets, so the batch is redelivered.

Publishing the outbox and committing offsets come after, in the caller (worker.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential_jitter,
)

from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.adapters.postgres.errors import is_transient
from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.domain.outcomes import ShipmentReleased, ShipmentUnroutable
from backorder_worker.entrypoints.translate import to_envelope
from backorder_worker.observability.logging import log_context
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer.commands import Envelope
from backorder_worker.service_layer.handlers import handle
from backorder_worker.service_layer.ports import DeadLetter, Store, UnitOfWork
from backorder_worker.service_layer.results import Applied, Duplicate, Outcome, Rejected
from backorder_worker.wire import InvalidMessage, decode_event

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    invalid: int = 0
    outbox_ids: list[int] = field(default_factory=list)
    outcomes: list[tuple[SourceRecord, str, Outcome | InvalidMessage]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Decoded:
    record: SourceRecord
    envelope: Envelope | None
    error: InvalidMessage | None


class BatchProcessor:
    def __init__(
        self,
        uow: UnitOfWork,
        policy: ReleasePolicy,
        clock: Callable[[], datetime],
        metrics: Metrics,
        max_message_bytes: int = 1_048_576,
        retry_for_s: float = 60.0,
    ) -> None:
        self.uow, self.policy, self.clock, self.metrics = uow, policy, clock, metrics
        self.max_message_bytes = max_message_bytes
        self.retry_for_s = retry_for_s

    def process(self, records: Sequence[SourceRecord], dry_run: bool = False) -> BatchResult:
        started = time.perf_counter()
        decoded = [self._decode(record) for record in records]
        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_delay(self.retry_for_s),
            wait=wait_exponential_jitter(multiplier=0.05, max=2.0),
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            result = retrying(self._transaction, decoded, dry_run)
        except _DryRun as rolled_back:
            return rolled_back.result
        self._observe(result, time.perf_counter() - started, len(records))
        return result

    def _decode(self, record: SourceRecord) -> _Decoded:
        try:
            event = decode_event(record.value, record.headers, self.max_message_bytes)
            return _Decoded(record, to_envelope(event), None)
        except InvalidMessage as error:
            return _Decoded(record, None, error)

    def _transaction(self, decoded: list[_Decoded], dry_run: bool) -> BatchResult:
        result = BatchResult()
        with self.uow() as store:
            for item in decoded:
                self._one(store, item, result)
            result.outbox_ids = store.outbox_ids()
            if dry_run:
                raise _DryRun(result)
        return result

    def _one(self, store: Store, item: _Decoded, result: BatchResult) -> None:
        record = item.record
        event_id = item.envelope.event_id if item.envelope else None
        with log_context(
            event_id=event_id, topic=record.topic, partition=record.partition, offset=record.offset
        ):
            if item.envelope is None:
                assert item.error is not None
                log.warning(
                    "invalid message",
                    extra={"error_type": item.error.error_type, "error": item.error.message},
                )
                store.dead_letter(_letter(record, item.error.error_type, item.error.message))
                result.invalid += 1
                result.outcomes.append((record, "unknown", item.error))
                return
            outcome = self._apply(store, item.envelope, record)
            result.outcomes.append((record, item.envelope.event_type, outcome))
            if isinstance(outcome, Duplicate):
                result.duplicates += 1
            elif isinstance(outcome, Rejected):
                log.warning(
                    "event rejected",
                    extra={"error_type": outcome.error_type, "error": outcome.message},
                )
                store.dead_letter(_letter(record, outcome.error_type, outcome.message))
                result.invalid += 1
            else:
                result.applied += 1
                if outcome.note:
                    log.info(outcome.note)

    def _apply(self, store: Store, envelope: Envelope, record: SourceRecord) -> Outcome:
        try:
            with store.savepoint():
                outcome = handle(envelope, store, self.policy, self.clock())
                if isinstance(outcome, Rejected):
                    # A rejected event had no effect: undo its inbox claim too, so that its
                    # dead letter applies when it is replayed after the fix.
                    raise _Undone(outcome)
                return outcome
        except _Undone as undone:
            return undone.outcome
        except Exception as error:
            if is_transient(error):
                raise
            log.exception("event failed; dead-lettering it")
            return Rejected("processing-error", f"{type(error).__name__}: {error}"[:1000])

    def _observe(self, result: BatchResult, seconds: float, size: int) -> None:
        metrics = self.metrics
        metrics.batch_size.observe(size)
        metrics.processing_seconds.labels(scope="batch").observe(seconds)
        for record, event_type, outcome in result.outcomes:
            label = _outcome_label(outcome)
            metrics.events_total.labels(topic=record.topic, type=event_type, outcome=label).inc()
            if isinstance(outcome, InvalidMessage | Rejected):
                metrics.dead_letters_total.labels(error_type=outcome.error_type).inc()
            if isinstance(outcome, Applied):
                for decision in outcome.decisions:
                    if isinstance(decision, ShipmentReleased):
                        metrics.releases_total.labels(release=decision.release.value).inc()
                    elif isinstance(decision, ShipmentUnroutable):
                        metrics.unroutable_total.labels(state=decision.state.value).inc()


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "transient failure, retrying the batch",
        extra={"attempt": state.attempt_number, "error": repr(error)},
    )


class _Undone(Exception):
    """Rolls an event's savepoint back while keeping its outcome."""

    def __init__(self, outcome: Rejected) -> None:
        super().__init__(outcome.error_type)
        self.outcome = outcome


class _DryRun(Exception):
    """Rolls a dry run's transaction back while keeping what it would have done."""

    def __init__(self, result: BatchResult) -> None:
        super().__init__("dry run")
        self.result = result


def _outcome_label(outcome: Outcome | InvalidMessage) -> str:
    if isinstance(outcome, InvalidMessage):
        return "invalid"
    if isinstance(outcome, Duplicate):
        return "duplicate"
    if isinstance(outcome, Rejected):
        return "conflict" if outcome.error_type == "conflict" else "invalid"
    return "applied"


def _letter(record: SourceRecord, error_type: str, message: str) -> DeadLetter:
    return DeadLetter(
        key=record.key,
        value=record.value,
        error_type=error_type,
        error_message=message,
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        headers=record.headers,
    )
