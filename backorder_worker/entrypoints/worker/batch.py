"""One poll batch, from raw records to durable effects. The worker and `replay` share it.

The processing order for a batch:

1. decode and validate every record; a record that fails becomes a dead letter with its
   error (it is never retried: the same bytes would fail the same way);
2. open one Postgres transaction for the whole batch; claim every event id in the inbox
   at once (a seen id has no effect), lock every SKU the batch names (and the locations
   whose stock it raises or that it changes) in one statement and one order, waiting —
   with them any lock an earlier run of this batch found held by another transaction
   (``service_layer/locking.py``: later lock calls only try, and a refused one re-runs
   the transaction at once, so no deadlock can form); learn which SKUs anybody waits
   for, and read ahead their listings, the first waiting-room page of each SKU the
   batch raises and the shipments and supplies it looks up — a few statements for the
   batch; the stock of the locked SKUs is then
   read once, at its first use;
3. apply each event in order: the core's decisions, the state, the outbox rows. A rejected
   event (an unknown shipment, a reused id) gives its claim back and becomes a dead letter
   in the same transaction. An event whose handler fails with a non-transient error (a
   bug, bad data the decoder let through) rolls the batch back; the batch is then run
   again with that event dead-lettered instead of applied, so one poison event costs one
   re-run, not a stalled partition;
4. commit: every effect of the batch, its inbox rows and its outbox rows are durable
   together. A transient failure (connection, deadlock, a lost race) retries the whole
   transaction with backoff; when retries run out the error propagates and the caller
   stops *without* committing offsets, so the batch is redelivered.

Publishing the outbox and committing offsets come after, in the caller (worker.py). Why a
whole batch in one transaction: on two cores the limit is round trips, not Kafka; a stock
event for a SKU nobody waits for costs no statement of its own here, its units join the
batch's one upsert of positions (see docs/performance.md).
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
from backorder_worker.domain.receiving import SupplyCut
from backorder_worker.entrypoints.worker import fault_points
from backorder_worker.entrypoints.worker.translate import to_envelope
from backorder_worker.observability.logging import log_context
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer.commands import Envelope
from backorder_worker.service_layer.handlers import handle
from backorder_worker.service_layer.locking import LockContended, LockNeeds, locks_of_all
from backorder_worker.service_layer.ports import DeadLetter, OutboxRow, Store, UnitOfWork
from backorder_worker.service_layer.results import Applied, Duplicate, Outcome, Rejected
from backorder_worker.service_layer.rounds import read_ahead_for
from backorder_worker.wire import InvalidMessage, decode_event

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    invalid: int = 0
    outbox_rows: list[OutboxRow] = field(default_factory=list)  # written, for the fast path
    event_seconds: list[float] = field(default_factory=list)
    outcomes: list[tuple[SourceRecord, str, Outcome | InvalidMessage]] = field(default_factory=list)

    @property
    def outbox_ids(self) -> list[int]:
        return [row.id for row in self.outbox_rows]


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
        poisoned: dict[int, Rejected] = {}
        first_locks = _FirstLocks()
        while True:
            try:
                result = retrying(self._transaction, decoded, poisoned, dry_run, first_locks)
                break
            except _EventFailed as failed:
                poisoned[failed.index] = failed.outcome  # run the batch again without it
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

    def _transaction(
        self,
        decoded: list[_Decoded],
        poisoned: dict[int, Rejected],
        dry_run: bool,
        first_locks: _FirstLocks,
    ) -> BatchResult:
        while True:
            try:
                return self._run(decoded, poisoned, dry_run, first_locks.needs)
            except LockContended as contended:
                # Another transaction holds a lock a round needed: run again at once,
                # waiting for it in the first lock call (it is rolled back already).
                first_locks.needs |= contended.needs
                self.metrics.lock_reruns_total.inc()
                log.debug(
                    "locks held elsewhere; the batch runs again",
                    extra={"locks": str(contended.needs)},
                )

    def _run(
        self,
        decoded: list[_Decoded],
        poisoned: dict[int, Rejected],
        dry_run: bool,
        first_locks: LockNeeds,
    ) -> BatchResult:
        result = BatchResult()
        live = [
            item.envelope
            for i, item in enumerate(decoded)
            if item.envelope is not None and i not in poisoned
        ]
        with self.uow() as store:
            store.claim_events([(e.event_id, e.event_type, e.digest) for e in live])
            commands = [e.command for e in live]
            needs = locks_of_all(commands) | first_locks
            store.lock(needs)
            waited_for = store.waiting_skus(needs.skus)
            store.read_ahead(read_ahead_for(commands, waited_for, self.policy.release_order))
            for index, item in enumerate(decoded):
                self._one(store, index, item, poisoned.get(index), result)
            result.outbox_rows = store.outbox_rows()
            if dry_run:
                raise _DryRun(result)
            fault_points.maybe_crash(fault_points.BEFORE_DB_COMMIT)
            if result.applied:
                fault_points.maybe_crash(fault_points.APPLIED_BEFORE_COMMIT)
        return result

    def _one(
        self,
        store: Store,
        index: int,
        item: _Decoded,
        poisoned: Rejected | None,
        result: BatchResult,
    ) -> None:
        record, envelope = item.record, item.envelope
        with log_context(
            event_id=envelope.event_id if envelope else None,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        ):
            if envelope is None:
                assert item.error is not None
                log.warning(
                    "invalid message",
                    extra={"error_type": item.error.error_type, "error": item.error.message},
                )
                store.dead_letter(_letter(record, item.error.error_type, item.error.message))
                result.invalid += 1
                result.outcomes.append((record, "unknown", item.error))
                return
            outcome = poisoned or self._apply(store, index, envelope, result)
            result.outcomes.append((record, envelope.event_type, outcome))
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
                if outcome.supply_cut is not None:
                    _warn_supply_cut(outcome.supply_cut)

    def _apply(self, store: Store, index: int, envelope: Envelope, result: BatchResult) -> Outcome:
        started = time.perf_counter()
        try:
            return handle(envelope, store, self.policy, self.clock())
        except Exception as error:
            if is_transient(error):
                raise
            log.exception("event failed; the batch runs again with it dead-lettered")
            rejected = Rejected("processing-error", f"{type(error).__name__}: {error}"[:1000])
            raise _EventFailed(index, rejected) from error
        finally:
            result.event_seconds.append(time.perf_counter() - started)

    def _observe(self, result: BatchResult, seconds: float, size: int) -> None:
        metrics = self.metrics
        metrics.batch_size.observe(size)
        metrics.processing_seconds.labels(scope="batch").observe(seconds)
        event_histogram = metrics.processing_seconds.labels(scope="event")
        for event_seconds in result.event_seconds:
            event_histogram.observe(event_seconds)
        for record, event_type, outcome in result.outcomes:
            label = _outcome_label(outcome)
            metrics.events_total.labels(topic=record.topic, type=event_type, outcome=label).inc()
            if isinstance(outcome, InvalidMessage | Rejected):
                metrics.dead_letters_total.labels(error_type=outcome.error_type).inc()
            if isinstance(outcome, Applied):
                if outcome.supply_cut is not None:
                    metrics.supply_cuts_total.inc()
                    metrics.supply_shortfall_units_total.inc(outcome.supply_cut.newly_uncovered)
                for decision in outcome.decisions:
                    if isinstance(decision, ShipmentReleased):
                        metrics.releases_total.labels(release=decision.release.value).inc()
                    elif isinstance(decision, ShipmentUnroutable):
                        metrics.unroutable_total.labels(state=decision.state.value).inc()


def _warn_supply_cut(cut: SupplyCut) -> None:
    """A supply now short of what it promised cannot take its FUTURE releases back (I2),
    so it is said loudly (README, "Rules as built"); the counters follow after commit."""
    log.warning(
        "supply cut below what it promised",
        extra={
            "supply_id": cut.supply_id,
            "shortfall": cut.shortfall,
            "promised": cut.promised,
            "quantity": cut.quantity,
            "shipments": list(cut.shipment_ids),
        },
    )


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "transient failure, retrying the batch",
        extra={"attempt": state.attempt_number, "error": repr(error)},
    )


@dataclass
class _FirstLocks:
    """Locks found held elsewhere by earlier runs of one batch: its next run takes them
    in its first, waiting, lock call."""

    needs: LockNeeds = field(default_factory=LockNeeds)


class _EventFailed(Exception):
    """One event failed for good: roll the batch back and run it again without it."""

    def __init__(self, index: int, outcome: Rejected) -> None:
        super().__init__(outcome.message)
        self.index, self.outcome = index, outcome


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


# A dead letter must fit in a Kafka record; an oversized message keeps its head, and its
# source position says where the whole of it still is.
DEAD_LETTER_VALUE_LIMIT = 64 * 1024


def _letter(record: SourceRecord, error_type: str, message: str) -> DeadLetter:
    value = record.value
    if value is not None and len(value) > DEAD_LETTER_VALUE_LIMIT:
        value = value[:DEAD_LETTER_VALUE_LIMIT]
        message = f"{message} (value cut to its first {DEAD_LETTER_VALUE_LIMIT} bytes)"
    return DeadLetter(
        key=record.key,
        value=value,
        error_type=error_type,
        error_message=message,
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        headers=record.headers,
    )
