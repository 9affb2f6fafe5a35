"""Input events, built and validated before any clock starts, and sent with confluent-kafka.

The sustained mix: 80 % ``stock.stowed``, 10 % ``future-inventory.updated``, 10 %
``shipment.created``. Stock SKUs are drawn uniformly from the wide SKU space, so most stock
events concern SKUs nobody waits for, as in a real warehouse; new shipments draw their
SKUs from the waiting room's own Zipf popularity. Every event goes through
``publish.build_event``, which validates it exactly as the worker decodes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from confluent_kafka import Producer

from backorder_worker.settings import TopicsSettings
from backorder_worker.wire.input_events import KEY_FIELD, build_event
from bench.room import LINE_WEIGHTS, RoomSpec, ZipfSkus, location_name, sku_name

MIX = (("stock.stowed", 0.8), ("future-inventory.updated", 0.1), ("shipment.created", 0.1))
SOURCE = "bench"


@dataclass(frozen=True, slots=True)
class Prepared:
    """One encoded event, ready to produce."""

    event_id: str
    event_type: str
    topic: str
    key: bytes
    value: bytes
    sku: str | None = None


def topic_of(event_type: str, topics: TopicsSettings) -> str:
    return {
        "stock.stowed": topics.stock_stowed,
        "future-inventory.updated": topics.future_inventory,
        "shipment.created": topics.shipments,
    }[event_type]


def prepare(
    event_type: str, data: dict[str, Any], topics: TopicsSettings, event_id: str
) -> Prepared:
    event_id, value = build_event(event_type, data, event_id=event_id, source=SOURCE)
    key = str(data[KEY_FIELD[event_type]]).encode()
    return Prepared(event_id, event_type, topic_of(event_type, topics), key, value, data.get("sku"))


def event_mix(
    spec: RoomSpec, count: int, topics: TopicsSettings, run: str, seed: int
) -> list[Prepared]:
    """``count`` events of the mix; ``run`` makes ids, supply ids and shipment ids unique."""
    rng = np.random.default_rng(seed)
    kinds = rng.choice(len(MIX), count, p=[share for _, share in MIX])
    demand = ZipfSkus(spec.skus, spec.zipf_s, spec.seed, rng)
    today = datetime.now(UTC).date()
    events = []
    for i, kind in enumerate(kinds):
        event_type = MIX[kind][0]
        location = location_name(int(rng.integers(spec.locations)))
        sku = sku_name(int(rng.integers(spec.stock_skus)))
        if event_type == "stock.stowed":
            data: dict[str, Any] = {
                "location_id": location,
                "sku": sku,
                "quantity": int(min(20, rng.geometric(0.3))),
            }
        elif event_type == "future-inventory.updated":
            data = {
                "supply_id": f"PO-{run}-{i}",
                "location_id": location,
                "sku": sku,
                "quantity": int(rng.integers(1, 51)),
                "expected_date": (today + timedelta(days=int(rng.integers(3, 61)))).isoformat(),
            }
        else:
            data = _new_shipment(f"N{run}-{i}", demand, rng, spec)
        events.append(prepare(event_type, data, topics, f"{run}-{i}"))
    return events


def intake_mix(
    spec: RoomSpec, count: int, topics: TopicsSettings, run: str, seed: int
) -> list[Prepared]:
    """``count`` ``shipment.created`` events, drawn as the mix draws them."""
    rng = np.random.default_rng(seed)
    demand = ZipfSkus(spec.skus, spec.zipf_s, spec.seed, rng)
    return [
        prepare(
            "shipment.created",
            _new_shipment(f"N{run}-{i}", demand, rng, spec),
            topics,
            f"{run}-{i}",
        )
        for i in range(count)
    ]


def _new_shipment(
    shipment_id: str, demand: ZipfSkus, rng: np.random.Generator, spec: RoomSpec
) -> dict[str, Any]:
    count = int(rng.choice(len(LINE_WEIGHTS), p=LINE_WEIGHTS)) + 1
    skus = list(dict.fromkeys(sku_name(int(s)) for s in demand.draw(count)))
    bopis = rng.random() < spec.bopis_share
    return {
        "shipment_id": shipment_id,
        "order_id": f"O{shipment_id}",
        "fulfillment_type": "BOPIS" if bopis else "STH",
        "pickup_location_id": location_name(int(rng.integers(spec.locations))) if bopis else None,
        "lines": [
            {"line_id": f"{shipment_id}-{n}", "sku": sku, "quantity": int(rng.integers(1, 3))}
            for n, sku in enumerate(skus, 1)
        ],
    }


def stow(sku: str, quantity: int, location: str, topics: TopicsSettings, event_id: str) -> Prepared:
    data = {"location_id": location, "sku": sku, "quantity": quantity}
    return prepare("stock.stowed", data, topics, event_id)


def producer(bootstrap: str, linger_ms: int = 5) -> Producer:
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": linger_ms,
            "queue.buffering.max.messages": 2_000_000,
            "acks": "all",
        }
    )


def produce_all(bootstrap: str, events: Sequence[Prepared]) -> float:
    """Sends every event and waits for the acks; returns the seconds it took."""
    client = producer(bootstrap)
    started = datetime.now(UTC)
    for event in events:
        client.produce(event.topic, value=event.value, key=event.key)
        client.poll(0)
    if client.flush(60) != 0:
        raise RuntimeError("events left unacknowledged by the broker")
    return (datetime.now(UTC) - started).total_seconds()
