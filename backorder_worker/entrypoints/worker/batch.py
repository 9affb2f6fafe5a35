"""One poll batch at the edge: raw records in, the batch use case called, metrics out.

The worker's loop and `replay` hand it the records of one poll. It owns what the service
layer must not know about Kafka records and the wire format:

1. decode and validate every record (``wire.decode_event``, then ``translate``); a record
   that fails becomes an item without a command, which the use case dead-letters (it is
   never retried: the same bytes would fail the same way), and is logged now;
2. ``ApplyBatch`` (``service_layer/batch.py``): the one transaction of the batch, its
   retries and its poison re-runs. The dead letters it writes are shaped here
   (``DEAD_LETTER_VALUE_LIMIT``), and the test-only fault points before the commit
   (``fault_points.py``) are handed to it from here;
3. once it has returned (committed, or rolled back in a dry run): one log line per
   rejected event, note and supply cut, in the record's log context (event id, topic,
   partition, offset), said once however many times the transaction ran; then the
   metrics of a committed batch.

Publishing the outbox and committing offsets come after, in the caller (``loop.py``).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial

from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.domain.outcomes import ShipmentReleased, ShipmentUnroutable
from backorder_worker.domain.receiving import SupplyCut
from backorder_worker.entrypoints.worker import fault_points
from backorder_worker.entrypoints.worker.translate import to_envelope
from backorder_worker.observability.logs import log_context
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer.batch import ApplyBatch, BatchItem, BatchOutcome
from backorder_worker.service_layer.ports import DeadLetter, OutboxRow
from backorder_worker.service_layer.results import Applied, Duplicate, Outcome, Rejected
from backorder_worker.wire import InvalidMessage, decode_event

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    """What a batch of records came to: counts, the outbox rows it wrote (for the relay's
    fast path) and each record's event type and outcome."""

    applied: int = 0
    duplicates: int = 0
    invalid: int = 0
    outbox_rows: list[OutboxRow] = field(default_factory=list)
    outcomes: list[tuple[SourceRecord, str, Outcome | InvalidMessage]] = field(default_factory=list)

    @property
    def outbox_ids(self) -> list[int]:
        return [row.id for row in self.outbox_rows]


class BatchProcessor:
    """Steps 1 to 3 of the module doc for each batch of records it is given."""

    def __init__(
        self, apply: ApplyBatch, metrics: Metrics, max_message_bytes: int = 1_048_576
    ) -> None:
        self.apply, self.metrics, self.max_message_bytes = apply, metrics, max_message_bytes

    def process(self, records: Sequence[SourceRecord], dry_run: bool = False) -> BatchResult:
        started = time.perf_counter()
        decoded = [self._decode(record) for record in records]
        items = [one.item for one in decoded]
        done = self.apply(items, dry_run=dry_run, before_commit=_fault_points_before_commit)
        result = BatchResult(done.applied, done.duplicates, done.invalid, done.outbox_rows)
        for one, outcome in zip(decoded, done.outcomes, strict=True):
            result.outcomes.append((one.record, one.event_type, one.error or outcome))
            _report(one, outcome)
        self.metrics.lock_reruns_total.inc(done.lock_reruns)
        if not dry_run:
            seconds = time.perf_counter() - started
            self._observe(result, done.event_seconds, seconds, len(records))
        return result

    def _decode(self, record: SourceRecord) -> _Decoded:
        letter = partial(_letter, record)
        try:
            event = decode_event(record.value, record.headers, self.max_message_bytes)
        except InvalidMessage as error:
            with _context(record, None):
                log.warning(
                    "invalid message",
                    extra={"error_type": error.error_type, "error": error.message},
                )
            invalid = Rejected(error.error_type, error.message)
            return _Decoded(record, BatchItem(None, letter, invalid), error)
        return _Decoded(record, BatchItem(to_envelope(event), letter), None)

    def _observe(
        self, result: BatchResult, event_seconds: list[float], seconds: float, size: int
    ) -> None:
        metrics = self.metrics
        metrics.batch_size.observe(size)
        metrics.processing_seconds.labels(scope="batch").observe(seconds)
        event_histogram = metrics.processing_seconds.labels(scope="event")
        for one_event_seconds in event_seconds:
            event_histogram.observe(one_event_seconds)
        # Counted per label set, then one ``labels`` look-up and one ``inc`` per set: the
        # same counts as one per event, without a look-up per event.
        events: Counter[tuple[str, str, str]] = Counter()
        dead_letters: Counter[str] = Counter()
        for record, event_type, outcome in result.outcomes:
            events[(record.topic, event_type, _outcome_label(outcome))] += 1
            if isinstance(outcome, InvalidMessage | Rejected):
                dead_letters[outcome.error_type] += 1
            if isinstance(outcome, Applied):
                if outcome.supply_cut is not None:
                    metrics.supply_cuts_total.inc()
                    metrics.supply_shortfall_units_total.inc(outcome.supply_cut.newly_uncovered)
                for decision in outcome.decisions:
                    if isinstance(decision, ShipmentReleased):
                        metrics.releases_total.labels(release=decision.release.value).inc()
                    elif isinstance(decision, ShipmentUnroutable):
                        metrics.unroutable_total.labels(state=decision.state.value).inc()
        for (topic, event_type, label), count in events.items():
            metrics.events_total.labels(topic=topic, type=event_type, outcome=label).inc(count)
        for error_type, count in dead_letters.items():
            metrics.dead_letters_total.labels(error_type=error_type).inc(count)


@dataclass(frozen=True, slots=True)
class _Decoded:
    record: SourceRecord
    item: BatchItem
    error: InvalidMessage | None  # why the record is no event (logged when decoded)

    @property
    def event_type(self) -> str:
        envelope = self.item.envelope
        return "unknown" if envelope is None else envelope.event_type


def _fault_points_before_commit(done: BatchOutcome) -> None:
    """The reliability tests' points between writing and committing (fault_points.py)."""
    fault_points.maybe_crash(fault_points.BEFORE_DB_COMMIT)
    if done.applied:
        fault_points.maybe_crash(fault_points.APPLIED_BEFORE_COMMIT)


def _context(record: SourceRecord, event_id: str | None) -> AbstractContextManager[None]:
    return log_context(
        event_id=event_id, topic=record.topic, partition=record.partition, offset=record.offset
    )


def _report(one: _Decoded, outcome: Outcome) -> None:
    """The log lines of an event's outcome, in the record's log context."""
    envelope = one.item.envelope
    if envelope is None:
        return  # logged when it failed to decode
    if isinstance(outcome, Rejected):
        with _context(one.record, envelope.event_id):
            log.warning(
                "event rejected",
                extra={"error_type": outcome.error_type, "error": outcome.message},
            )
    elif isinstance(outcome, Applied) and (outcome.note or outcome.supply_cut is not None):
        # Most events log nothing: the context is entered only for those that do.
        with _context(one.record, envelope.event_id):
            if outcome.note:
                log.info(outcome.note)
            if outcome.supply_cut is not None:
                _warn_supply_cut(outcome.supply_cut)


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
