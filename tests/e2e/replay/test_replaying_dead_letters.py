"""`replay` of the dead-letter topic against the real stack: a letter whose cause is fixed
applies (in binary mode too, its CloudEvents headers kept), one still invalid goes back to
the dead-letter topic once, with its source position, and a letter for a shipment that did
not exist yet applies once it does.
"""

from __future__ import annotations

import json

from kafka import KafkaProducer

from backorder_worker.bootstrap import Services
from tests.e2e.replay.support import (
    a_waiting_shipment,
    drain,
    headers,
    letter_headers,
    run,
    send,
    send_event,
    shipment,
    state,
)
from tests.e2e.support import World


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
