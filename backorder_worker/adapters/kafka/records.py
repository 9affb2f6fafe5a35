"""What a consumed Kafka record is once it leaves kafka-python: a frozen `SourceRecord`.

This module owns the translation from kafka-python's `ConsumerRecord`, the partition identity
used everywhere above the adapter (`PartitionId`), and the one offset rule of the worker: the
offset committed for a partition is the offset of the last processed record **plus one** (the
next record to read), never the offset of the record itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple


class PartitionId(NamedTuple):
    """A topic partition. Equal to, and hashed like, kafka-python's `TopicPartition`
    (both are plain named tuples of the same two fields)."""

    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]"


Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record as consumed: where it is, its raw key, value and headers, its timestamp."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp_ms: int

    @property
    def partition_id(self) -> PartitionId:
        return PartitionId(self.topic, self.partition)

    @property
    def position(self) -> str:
        """`topic[partition] offset`, the prefix of every log line about this record."""
        return f"{self.topic}[{self.partition}] {self.offset}"

    def header(self, name: str) -> bytes | None:
        """The value of the last header called `name` (Kafka allows repeats), or None."""
        for key, value in reversed(self.headers):
            if key == name:
                return value
        return None


def from_consumer_record(record: Any) -> SourceRecord:
    """Translate a kafka-python `ConsumerRecord` (consumer built without deserializers)."""
    return SourceRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        headers=tuple((str(key), bytes(value or b"")) for key, value in record.headers or ()),
        timestamp_ms=record.timestamp,
    )


def next_offsets(records: Iterable[SourceRecord]) -> dict[PartitionId, int]:
    """The offsets to commit after processing `records`: per partition, the highest offset
    seen plus one. The records may come in any order."""
    offsets: dict[PartitionId, int] = {}
    for record in records:
        candidate = record.offset + 1
        if candidate > offsets.get(record.partition_id, -1):
            offsets[record.partition_id] = candidate
    return offsets
