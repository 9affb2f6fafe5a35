"""The CloudEvents Kafka protocol binding both ways, through the broker, with clients that are
not the worker's: confluent-kafka carries the records, and the CloudEvents SDK's own Kafka
conversion writes inputs (binary and structured mode) and reads the worker's outputs.

The story: A stocks KTP on backorder; S-1 needs 5, sent in structured mode with stray `ce_*`
headers that disagree with the value; the SDK stows 3 (binary mode) and 2 (structured mode);
S-1 is released, and every output reads back as a CloudEvent in the SDK."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.bindings.kafka import (
    KafkaMessage,
    from_kafka,
    to_binary,
    to_structured,
)
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from backorder_worker.wire import decode_output_event
from backorder_worker.wire.input_events import build_event
from tests.e2e.support import World

STRUCTURED_CONTENT_TYPE = b"application/cloudevents+json; charset=UTF-8"


def produce(
    world: World, topic: str, key: bytes | str | None, value: bytes, headers: Sequence[Any]
) -> None:
    producer = Producer({"bootstrap.servers": world.settings.kafka.bootstrap_servers})
    producer.produce(topic, value=value, key=key, headers=list(headers))
    assert producer.flush(10) == 0


def stowed_by_the_sdk(quantity: int) -> CloudEvent:
    return CloudEvent(
        attributes={
            "id": str(uuid.uuid4()),
            "source": "wms://sdk",
            "type": "stock.stowed",
            "time": datetime.now(UTC),
            "datacontenttype": "application/json",
        },
        data={"location_id": "A", "sku": "KTP", "quantity": quantity},
    )


def read_outputs(world: World, until_released: str, timeout_s: float = 30.0) -> list[Any]:
    """Every record of the two output topics, read by confluent-kafka from the beginning,
    once a release of `until_released` is among them."""
    topics = [world.settings.topics.shipment_released, world.settings.topics.still_unroutable]
    consumer = Consumer(
        {
            "bootstrap.servers": world.settings.kafka.bootstrap_servers,
            "group.id": f"{world.settings.kafka.group_id}-sdk-reader",
            "enable.auto.commit": False,
        }
    )
    partitions = [
        TopicPartition(topic, partition, OFFSET_BEGINNING)
        for topic in topics
        for partition in consumer.list_topics(topic, timeout=10).topics[topic].partitions
    ]
    consumer.assign(partitions)
    records: list[Any] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                if any(_is_release_of(r, until_released) for r in records):
                    return records
                continue
            records.append(message)
    finally:
        consumer.close()
    raise AssertionError(f"no release of {until_released} in {len(records)} output records")


def _is_release_of(message: Any, shipment_id: str) -> bool:
    event = decode_output_event(message.value(), message.headers())
    return event.type == "shipment.released" and event.data.shipment_id == shipment_id


def test_inputs_in_either_mode_are_applied_and_outputs_read_back_in_the_sdk(world: World) -> None:
    world.start_worker()
    topics = world.settings.topics
    location = {"location_id": "A", "active": True, "fulfillment_types": ["STH"]}
    listing = {"sku": "KTP", "out_of_stock_behaviour": "BACKORDER"}
    world.wait_applied(
        world.publish([("location.updated", location), ("listing.updated", listing)])
    )

    # Structured mode, with ce_* headers that disagree with the value: the value wins.
    shipment = {
        "shipment_id": "S-1",
        "order_id": "O-1",
        "fulfillment_type": "STH",
        "lines": [{"line_id": "S-1-1", "sku": "KTP", "quantity": 5}],
    }
    created_id, created = build_event("shipment.created", shipment)
    stray = [("ce_id", b"stray-id"), ("ce_type", b"stock.teleported"), ("ce_specversion", b"0.3")]
    produce(
        world,
        topics.shipments,
        b"O-1",
        created,
        [*stray, ("content-type", STRUCTURED_CONTENT_TYPE)],
    )
    world.wait_applied([created_id])  # fmt: skip

    # The SDK writes one stow in binary mode and one in structured mode.
    binary, structured = stowed_by_the_sdk(3), stowed_by_the_sdk(2)
    for event, to_kafka in ((binary, to_binary), (structured, to_structured)):
        message = to_kafka(event, JSONFormat(), lambda _event: b"KTP")
        produce(world, topics.stock_stowed, message.key, message.value, message.headers.items())
    world.wait_applied([binary.get_id(), structured.get_id()])

    outputs = read_outputs(world, until_released="S-1")
    assert world.read("dead_letter") == []
    assert world.sql("select count(*) from inbox where event_id = 'stray-id'")[0][0] == 0
    for record in outputs:
        headers = dict(record.headers())
        assert headers["content-type"] == STRUCTURED_CONTENT_TYPE
        read = from_kafka(KafkaMessage(headers, record.key(), record.value()), JSONFormat())
        ours = decode_output_event(record.value(), record.headers())
        assert (read.get_id(), read.get_type(), read.get_source()) == (
            ours.id,
            ours.type,
            ours.source,
        )
        assert read.get_time() == ours.time
        assert read.get_data()["shipment_id"] == "S-1"
    released = [r for r in outputs if _is_release_of(r, "S-1")]
    assert len(released) == 1
    data = from_kafka(
        KafkaMessage(dict(released[0].headers()), None, released[0].value()), JSONFormat()
    ).get_data()
    assert data["release"] == "CURRENT"
    assert data["trigger"]["id"] == structured.get_id()
