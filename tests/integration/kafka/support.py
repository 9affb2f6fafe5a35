"""Helpers of the Kafka adapter tests: fast-joining settings, a raw producer and reader that
need no consumer group, polling until a condition holds, and an in-memory `Outbox`."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from backorder_worker.adapters.kafka import KafkaSource, SourceRecord
from backorder_worker.adapters.kafka.records import from_consumer_record
from backorder_worker.service_layer.ports import OutboxRow
from backorder_worker.settings import KafkaSettings
from tests.kafka_settings import FAST_GROUP_SETTINGS


def fast_settings(bootstrap: str, group: str) -> KafkaSettings:
    """Settings of a worker group whose joins take ~1 s on Tansu (see FAST_GROUP_SETTINGS)."""
    return KafkaSettings(bootstrap_servers=bootstrap, group_id=group, **FAST_GROUP_SETTINGS)


def produce(bootstrap: str, topic: str, messages: Sequence[tuple[int, bytes, bytes]]) -> None:
    """Writes (partition, key, value) messages with a plain producer, flushed."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=2)
    for partition, key, value in messages:
        producer.send(topic, key=key, value=value, partition=partition)
    producer.flush(10)
    producer.close(5)


def read_topic(
    bootstrap: str, topic: str, count: int, timeout_s: float = 10.0
) -> list[SourceRecord]:
    """Reads `count` records from every partition's beginning, without a consumer group."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        deadline = time.monotonic() + timeout_s
        partitions: set[int] = set()
        while not partitions and time.monotonic() < deadline:
            partitions = consumer.partitions_for_topic(topic)
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        consumer.seek_to_beginning()
        records: list[SourceRecord] = []
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(from_consumer_record(r) for r in batch)
        return records
    finally:
        consumer.close()


def poll_until(
    sources: Sequence[KafkaSource],
    done: Callable[[list[SourceRecord]], bool],
    timeout_s: float = 15.0,
) -> list[SourceRecord]:
    """Polls every source in turn until `done(all records so far)` or the timeout."""
    records: list[SourceRecord] = []
    deadline = time.monotonic() + timeout_s
    while not done(records) and time.monotonic() < deadline:
        for source in sources:
            records.extend(source.poll(timeout_ms=100))
    return records


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0, step_s: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step_s)
    return True


@dataclass
class _Entry:
    row: OutboxRow
    written_at: float
    published: bool = False


@dataclass
class InMemoryOutbox:
    """The `Outbox` port in memory; `clock` says when rows were written (monotonic seconds)."""

    clock: Callable[[], float] = time.monotonic
    entries: dict[int, _Entry] = field(default_factory=dict)
    marks: list[list[int]] = field(default_factory=list)

    def add(self, row: OutboxRow, age_s: float = 0.0) -> OutboxRow:
        self.entries[row.id] = _Entry(row, self.clock() - age_s)
        return row

    def rows(self, ids: Sequence[int]) -> list[OutboxRow]:
        wanted = set(ids)
        return [e.row for i, e in sorted(self.entries.items()) if i in wanted and not e.published]

    def pending(self, limit: int, older_than_s: float) -> list[OutboxRow]:
        cutoff = self.clock() - older_than_s
        old = [
            e.row
            for _, e in sorted(self.entries.items())
            if not e.published and e.written_at < cutoff
        ]
        return old[:limit]

    def sweep(
        self,
        limit: int,
        older_than_s: float,
        publish: Callable[[list[OutboxRow]], Sequence[int]],
    ) -> int:
        """One thread at a time: nothing to lock against."""
        return self.deliver(self.pending(limit, older_than_s), publish)

    def deliver(
        self, rows: Sequence[OutboxRow], publish: Callable[[list[OutboxRow]], Sequence[int]]
    ) -> int:
        mine = [row for row in rows if not self.entries[row.id].published]
        if not mine:
            return 0
        published = list(publish(mine))
        if published:
            self.mark_published(published)
        return len(published)

    def mark_published(self, ids: Sequence[int]) -> None:
        self.marks.append(list(ids))
        for i in ids:
            self.entries[i] = replace(self.entries[i], published=True)

    def backlog(self) -> tuple[int, float]:
        waiting = [e.written_at for e in self.entries.values() if not e.published]
        return len(waiting), (self.clock() - min(waiting)) if waiting else 0.0

    def unpublished(self) -> list[int]:
        return sorted(i for i, e in self.entries.items() if not e.published)


def outbox_row(row_id: int, topic: str, key: str = "O-1") -> OutboxRow:
    """A row as the worker writes it: JSON value, CloudEvents id in a header and the row."""
    event_id = f"evt-{row_id}"
    return OutboxRow(
        id=row_id,
        topic=topic,
        key=key.encode(),
        value=f'{{"id":"{event_id}"}}'.encode(),
        headers=(("event_id", event_id.encode()), ("content-type", b"application/json")),
        event_id=event_id,
    )
