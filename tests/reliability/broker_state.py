"""What the reliability checker reads from the broker: every record of a topic up to each
partition's high watermark (read from a fetch response: `end_offsets` is wrong on Tansu),
the worker group's committed offsets without joining the group, the consumer lag, and the
wait until the system is quiet (lag 0 and the outbox published).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from kafka import KafkaConsumer, TopicPartition

from backorder_worker.adapters.kafka.reader import TopicReader
from backorder_worker.adapters.kafka.records import PartitionId, SourceRecord
from backorder_worker.settings import KafkaSettings, kafka_security_kwargs
from tests.e2e.support import World
from tests.reliability.recorder import Recorder


def read_to_end(
    settings: KafkaSettings, topics: Sequence[str], timeout_s: float = 30.0
) -> list[SourceRecord]:
    """Every record of `topics`, read until each partition's position reaches the high
    watermark of a fetch response (`end_offsets` is wrong on Tansu: DEVSTACK.md)."""
    reader = TopicReader(settings, topics)
    records: list[SourceRecord] = []
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            records += reader.poll(200)
            if all(_at_end(reader, p) for p in reader.assigned):
                return records
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topics} to their end in {timeout_s} s")
    finally:
        reader.close()


def _at_end(reader: TopicReader, partition: PartitionId) -> bool:
    highwater = reader.highwater(partition)
    return highwater is not None and reader.position(partition) >= highwater


def highwaters(settings: KafkaSettings, topics: Sequence[str]) -> dict[PartitionId, int]:
    reader = TopicReader(settings, topics)
    try:
        deadline = time.monotonic() + 15
        while True:
            reader.poll(100)
            found = {p: reader.highwater(p) for p in reader.assigned}
            if all(v is not None for v in found.values()):
                return {p: int(v) for p, v in found.items() if v is not None}
            if time.monotonic() > deadline:
                raise AssertionError(f"no high watermark for some partition of {topics}")
    finally:
        reader.close()


def committed_offsets(settings: KafkaSettings, partitions: Iterable[PartitionId]) -> dict:
    """The group's committed offsets, read with the group id but without joining the group
    (kafka-python's `describe_groups` fails on Tansu)."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.group_id,
        enable_auto_commit=False,
        **kafka_security_kwargs(settings),
    )
    try:
        return {p: consumer.committed(TopicPartition(p.topic, p.partition)) for p in partitions}
    finally:
        consumer.close(autocommit=False)


def consumer_lag(world: World, topics: Sequence[str]) -> dict[PartitionId, int]:
    """High watermark minus committed offset, per input partition (0: fully consumed)."""
    ends = highwaters(world.settings.kafka, topics)
    committed = committed_offsets(world.settings.kafka, ends)
    return {p: end - (committed.get(p) or 0) for p, end in ends.items()}


def wait_quiescent(world: World, recorder: Recorder, timeout_s: float = 60.0) -> float:
    """Waits until the consumer lag is 0 on every input partition and the outbox is empty
    of unpublished rows; returns the seconds it took."""
    started = time.monotonic()
    deadline = started + timeout_s
    lag: dict[PartitionId, int] = {}
    unpublished = -1
    while time.monotonic() < deadline:
        lag = consumer_lag(world, recorder.input_topics)
        if not any(lag.values()):
            [(unpublished,)] = world.sql("select count(*) from outbox where published_at is null")
            if unpublished == 0:
                return time.monotonic() - started
        time.sleep(0.25)
    behind = {str(p): n for p, n in lag.items() if n}
    raise AssertionError(
        f"not quiet after {timeout_s} s: lag {behind}, unpublished outbox rows {unpublished}"
    )
