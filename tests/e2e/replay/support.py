"""Helpers of the `replay` tests: sending records (to partition 0 unless told, with the
producer's timestamps where time matters), running a replay, the state it leaves in
Postgres, and the records it leaves on the output and dead-letter topics.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer

from backorder_worker.adapters.kafka.reader import TopicReader
from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.bootstrap import Services
from backorder_worker.entrypoints.worker.replay import replay
from backorder_worker.entrypoints.worker.replay_range import ReplaySummary
from backorder_worker.wire.input_events import build_event, key_for
from tests.e2e.support import World

Headers = Sequence[tuple[str, bytes]]
NOW = datetime.now(UTC)


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
