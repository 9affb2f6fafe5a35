"""What a replay reads: the range of each partition, where it ends, and dead letters
turned back into the records they were.

A partition ends at the high watermark its first fetch reported (capped at `to_offset`),
so a replay ends even while producers write and never re-reads what it dead-letters
itself. Records stamped before `from_time` are skipped here, whatever the broker's time
index says (Tansu's `offsets_for_times` is wrong: DEVSTACK.md).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from backorder_worker.adapters.kafka.reader import TopicReader
from backorder_worker.adapters.kafka.records import PartitionId, SourceRecord


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


@dataclass(slots=True)
class Counts:
    read: int = 0
    applied: int = 0
    already_applied: int = 0
    invalid: int = 0
    skipped_before_from: int = 0
    published: int = 0
    unpublished: int = 0
    outbox_ids: list[int] = field(default_factory=list)

    def add(self, applied: int, already_applied: int, invalid: int) -> None:
        self.applied += applied
        self.already_applied += already_applied
        self.invalid += invalid

    def summary(self, *, dry_run: bool, dead_letters: bool) -> ReplaySummary:
        counted = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del counted["outbox_ids"]
        return ReplaySummary(**counted, dry_run=dry_run, dead_letters=dead_letters)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)
# The headers `PostgresStore.dead_letter` adds; everything else on a dead letter is original.
DEAD_LETTER_HEADERS: Final = frozenset(
    {"error.type", "error.message", "source.topic", "source.partition", "source.offset"}
)


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
class Cursor:
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


def partitions_of(topic: str, wanted: Iterable[int] | None, available: Sequence[int]) -> list[int]:
    if not available:
        raise ReplayError(f"topic {topic!r} does not exist")
    chosen = sorted(set(wanted)) if wanted is not None else list(available)
    unknown = sorted(set(chosen) - set(available))
    if unknown or not chosen:
        raise ReplayError(f"{topic!r} has partitions {list(available)}, not {unknown or chosen}")
    return chosen


@dataclass
class RangeReader:
    """Step 1: polls the reader and keeps the records of the range, partition by partition."""

    reader: TopicReader
    cursors: dict[PartitionId, Cursor]
    window: ReplayRange
    counts: Counts
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
