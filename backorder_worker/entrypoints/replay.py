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
2. `BatchProcessor.process`, the worker's own transaction: an input already applied is a
   duplicate in the inbox and has no second effect; an invalid one is dead-lettered again
   (through the outbox, as in the worker) and counted `invalid`. `dry_run` rolls it back;
3. publish the outbox rows of that transaction (`OutboxRelay.publish`); skipped in a dry run;
4. no offset commit: there is no group.

At the end the outbox is swept (`older_than_s=0`), so what the replay applied is published
before it returns even when no worker runs. A dead letter that fails again becomes a new
dead letter at every replay: the summary calls them "still invalid".
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

import click

from backorder_worker.settings import Settings, load_settings

if TYPE_CHECKING:
    from backorder_worker.adapters.kafka.reader import TopicReader
    from backorder_worker.adapters.kafka.records import PartitionId, SourceRecord
    from backorder_worker.adapters.kafka.relay import OutboxRelay
    from backorder_worker.bootstrap import Services

log = logging.getLogger(__name__)

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)
# The headers `PostgresStore.dead_letter` adds; everything else on a dead letter is original.
DEAD_LETTER_HEADERS: Final = frozenset(
    {"error.type", "error.message", "source.topic", "source.partition", "source.offset"}
)


class ReplayError(RuntimeError):
    """The replay cannot start or stopped making progress; nothing after it was processed."""


@dataclass(frozen=True, slots=True)
class ReplaySummary:
    read: int = 0  # records within the range: the sum of the four counts below
    applied: int = 0  # in a dry run: would be applied
    already_applied: int = 0
    invalid: int = 0  # dead-lettered (again, when replaying the dead-letter topic)
    skipped_before_from: int = 0
    published: int = 0
    unpublished: int = 0  # outbox rows of this replay still unpublished at the end
    dry_run: bool = False
    dead_letters: bool = False

    def line(self) -> str:
        text = (
            f"replay: read={self.read} applied={self.applied} "
            f"already_applied={self.already_applied} invalid={self.invalid} "
            f"skipped={self.skipped_before_from} published={self.published}"
        )
        if self.dry_run:
            text += " (dry run: nothing kept or published; applied = would apply)"
        elif self.dead_letters and self.invalid:
            text += f" ({self.invalid} still invalid: dead-lettered again)"
        if self.unpublished:
            text += f" ({self.unpublished} outputs left in the outbox for the sweeper)"
        return text


@dataclass(frozen=True, slots=True)
class ReplayProgress:
    read: int
    total_estimate: int  # records in the range, from the high watermarks known so far
    partitions_done: int
    partitions: int


@dataclass(frozen=True, slots=True)
class ReplayRange:
    """Which records of a partition a replay keeps; times are epoch milliseconds."""

    from_ms: int | None = None
    from_offset: int | None = None
    to_ms: int | None = None
    to_offset: int | None = None  # inclusive

    def end(self, highwater: int) -> int:
        """The exclusive end offset of a partition whose first fetch saw `highwater`."""
        return highwater if self.to_offset is None else min(highwater, self.to_offset + 1)

    def is_before_from(self, record: SourceRecord) -> bool:
        return self.from_ms is not None and record.timestamp_ms < self.from_ms

    def is_after_to(self, record: SourceRecord) -> bool:
        return self.to_ms is not None and record.timestamp_ms > self.to_ms


@dataclass(slots=True)
class _Cursor:
    start: int
    end: int | None = None  # unknown until the partition's first fetch
    stopped: bool = False  # reached a record after `to_time`

    def is_done(self, position: int) -> bool:
        # `start` too: a broker may reset a position beyond its end back to the beginning.
        return self.stopped or (self.end is not None and max(position, self.start) >= self.end)

    def holds(self, offset: int) -> bool:
        return not self.stopped and self.end is not None and self.start <= offset < self.end


def epoch_ms(moment: datetime, *, round_up: bool = False) -> int:
    """Milliseconds since the epoch (a naive `moment` is UTC). Record timestamps are whole
    milliseconds: a lower bound rounds up (`round_up`), an upper bound down."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    exact = (aware - _EPOCH) / _MS
    return math.ceil(exact) if round_up else math.floor(exact)


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


def original_record(letter: SourceRecord) -> SourceRecord:
    """The record a dead letter was made of: its key, value and headers without ours, at its
    `source.*` position (where it stays when those headers are missing or unreadable)."""
    headers = tuple((name, raw) for name, raw in letter.headers if name not in DEAD_LETTER_HEADERS)
    source = _source_position(letter)
    if source is None:
        return dataclasses.replace(letter, headers=headers)
    topic, partition, offset = source
    return dataclasses.replace(
        letter, topic=topic, partition=partition, offset=offset, headers=headers
    )


def _source_position(letter: SourceRecord) -> tuple[str, int, int] | None:
    topic, partition, offset = (
        letter.header(f"source.{n}") for n in ("topic", "partition", "offset")
    )
    if topic is None or partition is None or offset is None:
        return None
    try:
        return topic.decode("utf-8"), int(partition), int(offset)
    except ValueError:  # UnicodeDecodeError included
        return None


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
    from backorder_worker.adapters.kafka.admin import partitions_for
    from backorder_worker.adapters.kafka.producer import KafkaPublisher
    from backorder_worker.adapters.kafka.reader import TopicReader
    from backorder_worker.adapters.kafka.records import PartitionId
    from backorder_worker.adapters.kafka.relay import OutboxRelay
    from backorder_worker.bootstrap import utc_now
    from backorder_worker.entrypoints.batch import BatchProcessor

    topic = resolve_topic(settings, topic)
    is_dead_letter = topic == settings.topics.dead_letter
    available = partitions_for(settings.kafka.bootstrap_servers, settings.kafka, topic)
    chosen = _partitions(topic, partitions, available)
    window = ReplayRange(
        from_ms=None if from_time is None else epoch_ms(from_time, round_up=True),
        from_offset=from_offset,
        to_ms=None if to_time is None else epoch_ms(to_time),
        to_offset=to_offset,
    )
    starts = None if from_offset is None else {PartitionId(topic, p): from_offset for p in chosen}
    processor = BatchProcessor(services.uow, services.policy, utc_now, services.metrics)
    counts = _Counts()
    with ExitStack() as stack:
        reader = TopicReader(
            settings.kafka,
            [topic],
            partitions=chosen,
            start_offsets=starts,
            max_poll_records=settings.kafka.max_poll_records,
        )
        stack.callback(reader.close)
        relay = None
        if not dry_run:
            publisher = KafkaPublisher(settings.kafka, client_id="backorder-worker-replay")
            stack.callback(publisher.close)
            relay = OutboxRelay(services.outbox, publisher)
        cursors = {pid: _Cursor(start=reader.position(pid)) for pid in reader.assigned}
        polls = _Polls(reader, cursors, window, counts, progress, poll_timeout_ms)
        for records in polls.batches(stall_timeout_s):  # 1. the records of the range
            if is_dead_letter:
                records = [original_record(record) for record in records]
            services.cache.begin_batch()
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


@dataclass(slots=True)
class _Counts:
    read: int = 0
    applied: int = 0
    already_applied: int = 0
    invalid: int = 0
    skipped_before_from: int = 0
    published: int = 0
    unpublished: int = 0
    outbox_ids: list[int] = dataclasses.field(default_factory=list)

    def add(self, applied: int, already_applied: int, invalid: int) -> None:
        self.applied += applied
        self.already_applied += already_applied
        self.invalid += invalid

    def summary(self, *, dry_run: bool, dead_letters: bool) -> ReplaySummary:
        counted = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del counted["outbox_ids"]
        return ReplaySummary(**counted, dry_run=dry_run, dead_letters=dead_letters)


def _partitions(topic: str, wanted: Iterable[int] | None, available: Sequence[int]) -> list[int]:
    if not available:
        raise ReplayError(f"topic {topic!r} does not exist")
    chosen = sorted(set(wanted)) if wanted is not None else list(available)
    unknown = sorted(set(chosen) - set(available))
    if unknown or not chosen:
        raise ReplayError(f"{topic!r} has partitions {list(available)}, not {unknown or chosen}")
    return chosen


@dataclass
class _Polls:
    """Step 1: polls the reader and keeps the records of the range, partition by partition."""

    reader: TopicReader
    cursors: dict[PartitionId, _Cursor]
    window: ReplayRange
    counts: _Counts
    progress: Callable[[ReplayProgress], None] | None
    poll_timeout_ms: int

    def batches(self, stall_timeout_s: float) -> Iterator[list[SourceRecord]]:
        """The records of the range, one list per poll, until every partition is done.
        Nothing is yielded before every partition's end is known, so what the replay itself
        writes (new dead letters) cannot move an end."""
        pending: list[SourceRecord] = []
        last_record = time.monotonic()
        while True:
            ends_known = self._learn_ends()
            if pending and ends_known:
                kept, pending = self._keep(pending), []
                if kept:
                    yield kept
                    last_record = time.monotonic()  # processing time is not a stall
            position = self.reader.position
            busy = [str(p) for p, c in self.cursors.items() if not c.is_done(position(p))]
            if self.progress is not None:
                self.progress(self._state(len(busy)))
            if not busy:
                return
            if time.monotonic() - last_record > stall_timeout_s:
                raise ReplayError(f"nothing from {', '.join(busy)} for {stall_timeout_s:.0f} s")
            # Short polls until every end is known: an empty partition answers only its own.
            polled = self.reader.poll(self.poll_timeout_ms if ends_known else 100)
            if polled:
                last_record = time.monotonic()
                pending += polled

    def _learn_ends(self) -> bool:
        for pid, cursor in self.cursors.items():
            highwater = self.reader.highwater(pid) if cursor.end is None else None
            if highwater is not None:
                cursor.end = self.window.end(highwater)
        return all(cursor.end is not None for cursor in self.cursors.values())

    def _keep(self, records: Sequence[SourceRecord]) -> list[SourceRecord]:
        kept: list[SourceRecord] = []
        for record in records:
            cursor = self.cursors[record.partition_id]
            if not cursor.holds(record.offset):
                continue
            if self.window.is_after_to(record):
                cursor.stopped = True  # `--to TIME` ends the partition at its first later record
                continue
            self.counts.read += 1
            if self.window.is_before_from(record):
                self.counts.skipped_before_from += 1
            else:
                kept.append(record)
        return kept

    def _state(self, busy: int) -> ReplayProgress:
        cursors = self.cursors.values()
        total = sum(max(0, c.end - c.start) for c in cursors if c.end is not None)
        return ReplayProgress(self.counts.read, total, len(self.cursors) - busy, len(self.cursors))


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


def _time_option(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not ISO 8601 (e.g. 2026-05-01T10:00:00Z)") from None


class _ProgressLine:
    """A line on stderr at most every `every_s` seconds: records read of the estimate."""

    def __init__(self, every_s: float = 1.0) -> None:
        self.every_s, self._last = every_s, 0.0

    def __call__(self, state: ReplayProgress) -> None:
        now = time.monotonic()
        if now - self._last < self.every_s and state.partitions_done < state.partitions:
            return
        self._last = now
        click.echo(
            f"replay: {state.read}/{state.total_estimate} records, "
            f"{state.partitions_done}/{state.partitions} partitions done",
            err=True,
        )


@click.command("replay")
@click.option(
    "--topic",
    required=True,
    help="An input topic or the dead-letter topic, by name or setting (e.g. dead-letter).",
)
@click.option(
    "--from",
    "from_time",
    metavar="TIME",
    callback=_time_option,
    help="Only records with a timestamp at or after TIME.",
)
@click.option("--from-offset", type=click.IntRange(min=0), help="Start each partition here.")
@click.option(
    "--to",
    "to_time",
    metavar="TIME",
    callback=_time_option,
    help="Stop a partition at its first record after TIME.",
)
@click.option(
    "--to-offset",
    type=click.IntRange(min=0),
    help="Stop each partition after this offset (inclusive).",
)
@click.option(
    "--partition", "partitions", type=int, multiple=True, help="Only this partition (repeatable)."
)
@click.option(
    "--dry-run", is_flag=True, help="Roll everything back and publish nothing; report only."
)
@click.pass_context
def replay_command(
    ctx: click.Context,
    topic: str,
    from_time: datetime | None,
    from_offset: int | None,
    to_time: datetime | None,
    to_offset: int | None,
    partitions: tuple[int, ...],
    dry_run: bool,
) -> None:
    """Re-processes a range of TOPIC through the worker's pipeline, outside its consumer group.

    Safe to repeat: inputs already applied have no second effect. TIME is ISO 8601 (UTC
    when it has no offset). Replaying the dead-letter topic re-processes the original
    records; those still invalid are dead-lettered again."""
    if from_time is None and from_offset is None:
        raise click.UsageError("give --from TIME or --from-offset N (0: the whole topic)")
    from backorder_worker.bootstrap import build_services

    settings = load_settings(ctx.obj["config_path"])
    services = build_services(settings)
    try:
        summary = replay(
            services,
            settings,
            topic,
            from_time=from_time,
            from_offset=from_offset,
            to_time=to_time,
            to_offset=to_offset,
            partitions=partitions or None,
            dry_run=dry_run,
            progress=_ProgressLine(),
        )
    except ReplayError as error:
        raise click.ClickException(str(error)) from error
    finally:
        services.close()
    click.echo(summary.line())
    if summary.unpublished:
        raise click.ClickException("some outputs were not published; the worker's sweeper will")
