"""`replay` against the real stack: a fresh database, Redis, the Tansu broker and the same
pipeline as the worker, read outside the worker's consumer group.

State is built the way an operator would after an incident: inputs are on their topics and
a replay applies them. Records go to partition 0 unless a test says otherwise, so offsets
are known; timestamps are set by the producer where time matters.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from backorder_worker.adapters.kafka.reader import TopicReader
from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.bootstrap import Services, build_services
from backorder_worker.entrypoints.publish import build_event, key_for
from backorder_worker.entrypoints.worker.replay import replay
from backorder_worker.entrypoints.worker.replay_range import (
    ReplayError,
    ReplayProgress,
    ReplaySummary,
)
from tests.e2e.support import World

Headers = Sequence[tuple[str, bytes]]
NOW = datetime.now(UTC)


@pytest.fixture
def services(world: World) -> Iterator[Services]:
    built = build_services(world.settings)
    yield built
    built.close()


@pytest.fixture
def producer(world: World) -> Iterator[KafkaProducer]:
    made = KafkaProducer(bootstrap_servers=world.settings.kafka.bootstrap_servers)
    yield made
    made.close(5)


def send(
    producer: KafkaProducer,
    topic: str,
    value: bytes,
    *,
    key: bytes = b"k",
    partition: int = 0,
    timestamp_ms: int | None = None,
    headers: Headers = (),
) -> None:
    producer.send(
        topic,
        value=value,
        key=key,
        partition=partition,
        timestamp_ms=timestamp_ms,
        headers=list(headers),
    )
    producer.flush(10)


def send_event(
    producer: KafkaProducer, topic: str, event_type: str, data: dict[str, Any], **kw: Any
) -> str:
    event_id, value = build_event(event_type, data)
    send(producer, topic, value, key=key_for(event_type, data), **kw)
    return event_id


def run(world: World, services: Services, topic: str, **kw: Any) -> ReplaySummary:
    return replay(services, world.settings, getattr(world.settings.topics, topic), **kw)


def a_waiting_shipment(world: World, services: Services, producer: KafkaProducer) -> None:
    """Location A (STH), KTP on backorder and shipment S-1 for 5 KTP, replayed: S-1 waits."""
    topics = world.settings.topics
    location = {"location_id": "A", "active": True, "fulfillment_types": ["STH"]}
    send_event(producer, topics.catalog, "location.updated", location)
    listing = {"sku": "KTP", "out_of_stock_behaviour": "BACKORDER"}
    send_event(producer, topics.catalog, "listing.updated", listing)
    send_event(producer, topics.shipments, "shipment.created", shipment("S-1"))
    assert run(world, services, "catalog", from_offset=0).applied == 2
    assert run(world, services, "shipments", from_offset=0).applied == 1
    assert state(world, "S-1") == "WAITING"


def shipment(shipment_id: str, quantity: int = 5) -> dict[str, Any]:
    return {
        "shipment_id": shipment_id,
        "order_id": f"O-{shipment_id}",
        "fulfillment_type": "STH",
        "lines": [{"line_id": f"{shipment_id}-1", "sku": "KTP", "quantity": quantity}],
    }


def stow(quantity: int) -> dict[str, Any]:
    return {"location_id": "A", "sku": "KTP", "quantity": quantity}


def state(world: World, shipment_id: str) -> str | None:
    rows = world.sql("select state from shipments where shipment_id = :s", s=shipment_id)
    return rows[0][0] if rows else None


def free_stock(world: World) -> int:
    rows = world.sql("select free from stock_positions where location_id = 'A' and sku = 'KTP'")
    return int(rows[0][0]) if rows else 0


def drain(world: World, topic: str) -> list[SourceRecord]:
    """Every record of `topic`, read up to each partition's high watermark."""
    reader = TopicReader(world.settings.kafka, [getattr(world.settings.topics, topic)])
    records: list[SourceRecord] = []
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            records += reader.poll(100)
            ends = [reader.highwater(p) for p in reader.assigned]
            positions = [reader.position(p) for p in reader.assigned]
            if all(
                end is not None and pos >= end for pos, end in zip(positions, ends, strict=True)
            ):
                return records
        raise AssertionError(f"{topic} not read to its end in 10 s")
    finally:
        reader.close()


def headers(values: dict[str, str]) -> list[tuple[str, bytes]]:
    return [(name, value.encode()) for name, value in values.items()]


def letter_headers(world: World, error_type: str, offset: int) -> list[tuple[str, bytes]]:
    """What the worker adds to a dead letter from partition 0 of the shipments topic."""
    return headers(
        {
            "error.type": error_type,
            "error.message": f"{error_type} (written by the test)",
            "source.topic": world.settings.topics.shipments,
            "source.partition": "0",
            "source.offset": str(offset),
        }
    )


def output_ids(world: World) -> set[str]:
    records = drain(world, "shipment_released") + drain(world, "still_unroutable")
    return {json.loads(r.value or b"{}")["id"] for r in records}


def test_replay_by_offset_range_applies_the_events_and_publishes_the_release(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    a_waiting_shipment(world, services, producer)
    send_event(producer, world.settings.topics.stock_stowed, "stock.stowed", stow(5))
    send_event(producer, world.settings.topics.stock_stowed, "stock.stowed", stow(7))

    summary = run(world, services, "stock_stowed", from_offset=0, to_offset=0)

    assert (summary.read, summary.applied, summary.published) == (1, 1, 1)
    assert state(world, "S-1") == "READY" and free_stock(world) == 0  # the 7 are past --to-offset
    [released] = [json.loads(r.value or b"") for r in drain(world, "shipment_released")]
    assert released["type"] == "shipment.released"
    assert released["data"]["shipment_id"] == "S-1"
    assert {r.key for r in drain(world, "still_unroutable")} == {b"O-S-1"}  # S-1 entered waiting


def test_replaying_the_same_range_again_changes_nothing_and_publishes_no_new_ids(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    a_waiting_shipment(world, services, producer)
    send_event(producer, world.settings.topics.stock_stowed, "stock.stowed", stow(8))
    run(world, services, "stock_stowed", from_offset=0)
    ids_before, free_before = output_ids(world), free_stock(world)

    again = [
        run(world, services, t, from_offset=0) for t in ("catalog", "shipments", "stock_stowed")
    ]

    assert [(s.applied, s.already_applied, s.published) for s in again] == [
        (0, 2, 0),
        (0, 1, 0),
        (0, 1, 0),
    ]
    assert output_ids(world) == ids_before and len(ids_before) == 2
    assert free_stock(world) == free_before == 3 and state(world, "S-1") == "READY"


def test_replay_by_time_applies_only_records_at_or_after_it_though_offsets_for_times_is_wrong(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    # Written now, stamped in the past and future, out of order: Tansu's time index answers
    # by write time (offset 0 for every T here), so only the replay's own filter is right.
    topic = world.settings.topics.stock_stowed
    stamps = {1: -timedelta(days=2), 10: -timedelta(hours=1), 100: -timedelta(days=3)}
    for quantity, stamp in {**stamps, 1000: timedelta(days=1)}.items():
        moment = int((NOW + stamp).timestamp() * 1000)
        send_event(producer, topic, "stock.stowed", stow(quantity), timestamp_ms=moment)

    future = run(world, services, "stock_stowed", from_time=NOW + timedelta(hours=12))
    assert (future.read, future.applied, future.skipped_before_from) == (4, 1, 3)
    assert free_stock(world) == 1000

    # --to ends the partition at its first later record (the one stamped tomorrow).
    window = run(world, services, "stock_stowed", from_time=NOW - timedelta(days=1), to_time=NOW)
    assert (window.read, window.applied, window.skipped_before_from) == (3, 1, 2)
    assert free_stock(world) == 1010


def test_partition_restricts_the_replay_to_the_chosen_partitions(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    topic = world.settings.topics.stock_stowed
    for partition, quantity in [(0, 1), (1, 10), (2, 100)]:
        send_event(producer, topic, "stock.stowed", stow(quantity), partition=partition)

    summary = run(world, services, "stock_stowed", from_offset=0, partitions=[1, 3])

    assert (summary.read, summary.applied) == (1, 1) and free_stock(world) == 10


def test_a_dry_run_changes_nothing_and_publishes_nothing_but_reports_what_would_apply(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    a_waiting_shipment(world, services, producer)
    send_event(producer, world.settings.topics.stock_stowed, "stock.stowed", stow(5))
    tables = ("inbox", "outbox", "allocations", "stock_positions", "shipment_history")
    counts = " union all ".join(f"select '{t}', count(*) from {t}" for t in tables)
    before, ids_before = world.sql(counts), output_ids(world)
    seen: list[ReplayProgress] = []

    dry = run(world, services, "stock_stowed", from_offset=0, dry_run=True, progress=seen.append)

    assert (dry.applied, dry.published, dry.dry_run) == (1, 0, True)
    assert "dry run" in dry.line() and seen[-1].partitions_done == seen[-1].partitions == 4
    assert world.sql(counts) == before and output_ids(world) == ids_before
    assert state(world, "S-1") == "WAITING"
    assert run(world, services, "stock_stowed", from_offset=0).applied == 1  # left unclaimed


def test_replaying_dead_letters_applies_the_fixed_ones_keeping_their_binary_mode_headers(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    a_waiting_shipment(world, services, producer)
    topics = world.settings.topics
    binary_mode = {
        "ce_specversion": "1.0",
        "ce_id": "cancel-1",
        "ce_source": "oms://eu",
        "ce_type": "shipment.cancelled",
        "ce_time": "2026-05-01T10:00:00Z",
        "content-type": "application/json",
    }
    cancel = json.dumps({"shipment_id": "S-1", "order_id": "O-S-1"}).encode()
    failed_by_a_bug = letter_headers(world, "processing-error", 7) + headers(binary_mode)
    send(producer, topics.dead_letter, cancel, key=b"O-S-1", headers=failed_by_a_bug)
    malformed = letter_headers(world, "malformed-json", 8)
    send(producer, topics.dead_letter, b"{oops", key=b"O-2", headers=malformed)

    summary = run(world, services, "dead_letter", from_offset=0)

    assert (summary.read, summary.applied, summary.invalid) == (2, 1, 1)
    assert "1 still invalid" in summary.line()
    assert state(world, "S-1") == "CANCELLED"
    again = drain(world, "dead_letter")[2:]
    assert [(r.value, r.header("source.topic"), r.header("source.offset")) for r in again] == [
        (b"{oops", topics.shipments.encode(), b"8")
    ]
    assert [name for name, _ in again[0].headers].count("error.type") == 1


def test_a_dead_letter_for_an_unknown_shipment_applies_once_the_shipment_exists(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    a_waiting_shipment(world, services, producer)
    shipments = world.settings.topics.shipments
    send_event(producer, shipments, "shipment.cancelled", {"shipment_id": "S-9", "order_id": "O-9"})
    assert run(world, services, "shipments", from_offset=1).invalid == 1  # S-9 is unknown
    send_event(producer, shipments, "shipment.created", shipment("S-9"))
    assert run(world, services, "shipments", from_offset=2).applied == 1

    summary = run(world, services, "dead_letter", from_offset=0)

    assert (summary.applied, summary.invalid) == (1, 0)
    assert state(world, "S-9") == "CANCELLED"


def test_a_replay_leaves_the_consumer_groups_committed_offsets_unchanged(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    topic = world.settings.topics.stock_stowed
    for quantity in (1, 2):
        send_event(producer, topic, "stock.stowed", stow(quantity))
    partitions = [TopicPartition(topic, p) for p in range(4)]
    group = KafkaConsumer(
        bootstrap_servers=world.settings.kafka.bootstrap_servers,
        group_id=world.settings.kafka.group_id,
        enable_auto_commit=False,
    )
    try:
        group.assign(partitions)
        group.commit({partitions[0]: OffsetAndMetadata(1, "", -1)})
        before = [group.committed(tp) for tp in partitions]

        assert run(world, services, "stock_stowed", from_offset=0).applied == 2

        assert [group.committed(tp) for tp in partitions] == before == [1, None, None, None]
    finally:
        group.close()


def test_the_command_line_replays_an_offset_range_and_prints_progress_and_a_summary(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    a_waiting_shipment(world, services, producer)
    topic = world.settings.topics.stock_stowed
    for quantity in (5, 7):
        send_event(producer, topic, "stock.stowed", stow(quantity))
    command = [str(Path(sys.executable).parent / "backorder-worker"), "--text-logs", "replay"]
    # The topic by its setting's name: `stock-stowed` is whatever the settings call it.
    options = ["--topic", "stock-stowed", "--from-offset", "0", "--to-offset", "0"]
    options += ["--partition", "0"]

    done = subprocess.run(
        command + options, env=world.env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == (
        "replay: read=1 applied=1 already_applied=0 invalid=0 skipped=0 published=1"
    )
    assert "1/1 partitions done" in done.stderr
    assert state(world, "S-1") == "READY" and free_stock(world) == 0


def test_a_replay_from_before_what_the_inbox_remembers_is_refused_before_reading(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    a_waiting_shipment(world, services, producer)
    send_event(producer, world.settings.topics.stock_stowed, "stock.stowed", stow(5))
    kept = world.settings.retention.inbox_days

    with pytest.raises(ReplayError) as refused:
        run(world, services, "stock_stowed", from_time=NOW - timedelta(days=kept, hours=1))

    assert str(refused.value).startswith("--from ")
    assert f"older than the inbox remembers applied events ({kept} days: since " in str(
        refused.value
    )
    assert "raise [retention] inbox_days" in str(refused.value)
    assert state(world, "S-1") == "WAITING" and free_stock(world) == 0


def test_an_offset_range_that_meets_a_record_older_than_the_inbox_keeps_stops_before_it(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    a_waiting_shipment(world, services, producer)
    old = NOW - timedelta(days=world.settings.retention.inbox_days + 2)
    topic = world.settings.topics.stock_stowed
    send_event(producer, topic, "stock.stowed", stow(5), timestamp_ms=int(old.timestamp() * 1000))

    with pytest.raises(ReplayError, match=r"^a record of .* is older than the inbox remembers"):
        run(world, services, "stock_stowed", from_offset=0)

    assert state(world, "S-1") == "WAITING" and free_stock(world) == 0
