"""`backorder-worker replay`: re-processes a range of a topic through the worker's pipeline.

The range is read by a `TopicReader`, outside the worker's consumer group: it joins no
group, commits nothing and never moves the group's offsets. Each partition is read from its
start (`from_offset`, else its beginning) to the high watermark its first fetch reported, so
a replay ends even while producers write, and never re-reads what it itself dead-letters.
A record is kept when its offset is within `[from_offset, to_offset]` and its timestamp is
at or after `from_time`; the first record after `to_time` ends its partition. The broker's
time index is not used: Tansu's `offsets_for_times` is wrong (DEVSTACK.md), and filtering
here is right on any broker, at the price of reading the partition from its start.

Per polled batch, in this order:

1. keep the records of the range (dead letters are turned back into their original record:
   key, value and original headers, `ce_*` included, at their source position);
2. `BatchProcessor.process`, the worker's own edge and transaction (`ApplyBatch`): an
   input already applied is a duplicate in the inbox and has no second effect; an invalid
   one is dead-lettered again (through the outbox, as in the worker) and counted
   `invalid`. `dry_run` rolls it back;
3. publish the outbox rows of that transaction (`OutboxRelay.publish`); skipped in a dry run;
4. no offset commit: there is no group.

At the end the outbox is swept (`older_than_s=0`), so what the replay applied is published
before it returns even when no worker runs.

The inbox forgets ids after `[retention] inbox_days`, so only records younger than that
are recognised when applied before. A range that starts earlier (`from_time`) is refused
before anything is read, and a record older than that met on the way (an offset range)
stops the replay before its batch is processed: either would apply such events twice.
A dead letter that fails again becomes a new dead letter at every replay: the summary
calls them "still invalid".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

from backorder_worker.adapters.kafka.relay import OutboxRelay
from backorder_worker.bootstrap import (
    Services,
    build_publishing,
    build_topic_reader,
    topic_partitions,
    utc_now,
)
from backorder_worker.entrypoints.worker.batch import BatchProcessor
from backorder_worker.entrypoints.worker.replay_range import (
    Counts,
    Cursor,
    RangeReader,
    ReplayError,
    ReplayProgress,
    ReplayRange,
    ReplaySummary,
    epoch_ms,
    original_record,
    partitions_of,
)
from backorder_worker.settings import Settings

log = logging.getLogger(__name__)


def resolve_topic(settings: Settings, name: str) -> str:
    """The topic to replay: an input topic or the dead-letter topic, by its configured name
    or by its setting (`dead-letter` or `dead_letter` is `settings.topics.dead_letter`).
    Anything else is refused: its events would all be dead-lettered as unknown types."""
    topics = settings.topics
    replayable: dict[str, str] = {
        field: getattr(topics, field)
        for field in ("stock_stowed", "future_inventory", "shipments", "catalog", "dead_letter")
    }
    if name in replayable.values():
        return name
    configured = replayable.get(name.replace("-", "_"))
    if configured is None:
        raise ReplayError(f"{name!r} is neither an input topic nor the dead-letter topic")
    return configured


def replay(
    services: Services,
    settings: Settings,
    topic: str,
    *,
    from_time: datetime | None = None,
    from_offset: int | None = None,
    to_time: datetime | None = None,
    to_offset: int | None = None,
    partitions: Iterable[int] | None = None,
    dry_run: bool = False,
    progress: Callable[[ReplayProgress], None] | None = None,
    poll_timeout_ms: int = 500,
    stall_timeout_s: float = 60.0,
) -> ReplaySummary:
    """Replays `topic` (an input topic or the dead-letter topic) over the range; see the
    module doc. Raises `ReplayError` for an unknown topic or partition, or when the broker
    gives nothing for `stall_timeout_s`; a database failure that outlasts the processor's
    retries propagates. Either way, the batches before it stay applied and published."""
    topic = resolve_topic(settings, topic)
    horizon = inbox_horizon(settings, utc_now())
    if from_time is not None and epoch_ms(from_time) < epoch_ms(horizon):
        raise ReplayError(_too_old(f"--from {from_time.isoformat()}", horizon, settings))
    is_dead_letter = topic == settings.topics.dead_letter
    chosen = partitions_of(topic, partitions, topic_partitions(settings, topic))
    window = ReplayRange(
        from_ms=None if from_time is None else epoch_ms(from_time, round_up=True),
        from_offset=from_offset,
        to_ms=None if to_time is None else epoch_ms(to_time),
        to_offset=to_offset,
    )
    processor = BatchProcessor(services.apply_batch, services.metrics)
    counts = Counts()
    with ExitStack() as stack:
        reader = build_topic_reader(settings, topic, chosen, from_offset)
        stack.callback(reader.close)
        relay = None
        if not dry_run:
            publishing = build_publishing(services, client_id="backorder-worker-replay")
            stack.callback(publishing.close)
            relay = publishing.relay
        cursors = {pid: Cursor(start=reader.position(pid)) for pid in reader.assigned}
        polls = RangeReader(reader, cursors, window, counts, progress, poll_timeout_ms)
        for records in polls.batches(stall_timeout_s):  # 1. the records of the range
            oldest = min(record.timestamp_ms for record in records)
            if oldest < epoch_ms(horizon):
                at = datetime.fromtimestamp(oldest / 1000, UTC)
                raise ReplayError(_too_old(f"a record of {at.isoformat()}", horizon, settings))
            if is_dead_letter:
                records = [original_record(record) for record in records]
            result = processor.process(records, dry_run=dry_run)  # 2. one transaction
            counts.add(result.applied, result.duplicates, result.invalid)
            if relay is not None:
                counts.outbox_ids += result.outbox_ids
                counts.published += relay.publish(result.outbox_ids)  # 3. publish the batch
            # 4. no offset commit: the reader is in no group, the worker's offsets stay put.
        if relay is not None:
            counts.published += _sweep(relay)
            counts.unpublished = len(services.outbox.rows(counts.outbox_ids))
    return counts.summary(dry_run=dry_run, dead_letters=is_dead_letter)


def inbox_horizon(settings: Settings, now: datetime) -> datetime:
    """The oldest time whose event ids the inbox still holds (retention.py trims older)."""
    return now - timedelta(days=settings.retention.inbox_days)


def _too_old(what: str, horizon: datetime, settings: Settings) -> str:
    return (
        f"{what} is older than the inbox remembers applied events "
        f"({settings.retention.inbox_days} days: since {horizon.isoformat(timespec='seconds')}); "
        "events from before then could be applied a second time. Replay a later range, or "
        "raise [retention] inbox_days (it must exceed the topics' retention)."
    )


def _sweep(relay: OutboxRelay, page: int = 500) -> int:
    """Publishes every unpublished outbox row (the worker's sweeper may be down)."""
    published = 0
    try:
        while (count := relay.sweep(limit=page, older_than_s=0)) > 0:
            published += count
            if count < page:
                break
    except Exception:  # the rows stay in the outbox; `unpublished` reports ours
        log.warning("sweeping the outbox failed", exc_info=True)
    return published
