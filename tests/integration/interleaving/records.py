"""Input events as the worker consumes them: real envelopes in ``SourceRecord``s."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.wire.input_events import build_event, key_for

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)  # the batches' clock
SET_UP_AT = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)  # the set-up events' time

Event = tuple[str, dict[str, Any]]
_offsets = count()


def record(event_type: str, data: dict[str, Any], event_id: str, at: datetime) -> SourceRecord:
    """One valid input, encoded exactly as `backorder-worker publish` encodes it."""
    _, value = build_event(event_type, data, event_id=event_id, time=at)
    return SourceRecord(
        topic=event_type.split(".")[0],
        partition=0,
        offset=next(_offsets),
        key=key_for(event_type, data),
        value=value,
        headers=(),
        timestamp_ms=int(at.timestamp() * 1000),
    )


def records(events: Sequence[Event], prefix: str, at: datetime) -> list[SourceRecord]:
    """Records with ids ``prefix-1``, ``prefix-2``…, a second apart from ``at``."""
    return [
        record(event_type, data, f"{prefix}-{n}", at + timedelta(seconds=n))
        for n, (event_type, data) in enumerate(events, 1)
    ]


# --- the events the scenarios use ----------------------------------------------------------


def location(location_id: str, active: bool = True) -> Event:
    return "location.updated", {
        "location_id": location_id,
        "active": active,
        "fulfillment_types": ["STH", "BOPIS"],
    }


def listing(
    sku: str,
    behaviour: str = "BACKORDER",
    location_id: str | None = None,
    future: bool | None = None,
) -> Event:
    data: dict[str, Any] = {"sku": sku, "out_of_stock_behaviour": behaviour}
    if location_id is not None:
        data["location_id"] = location_id
    if future is not None:
        data["future_inventory_enabled"] = future
    return "listing.updated", data


def shipment(shipment_id: str, *lines: tuple[str, int]) -> Event:
    return "shipment.created", {
        "shipment_id": shipment_id,
        "order_id": f"O-{shipment_id}",
        "fulfillment_type": "STH",
        "lines": [
            {"line_id": f"{shipment_id}-{n}", "sku": sku, "quantity": quantity}
            for n, (sku, quantity) in enumerate(lines, 1)
        ],
    }


def stow(location_id: str, sku: str, quantity: int, supply_id: str | None = None) -> Event:
    data: dict[str, Any] = {"location_id": location_id, "sku": sku, "quantity": quantity}
    if supply_id is not None:
        data["supply_id"] = supply_id
    return "stock.stowed", data


def level(location_id: str, sku: str, available: int) -> Event:
    return "stock.level", {
        "location_id": location_id,
        "sku": sku,
        "available": available,
        "as_of": (NOW - timedelta(minutes=5)).isoformat(),
    }


def supply(supply_id: str, location_id: str, sku: str, quantity: int, days: int = 3) -> Event:
    return "future-inventory.updated", {
        "supply_id": supply_id,
        "location_id": location_id,
        "sku": sku,
        "quantity": quantity,
        "expected_date": (NOW.date() + timedelta(days=days)).isoformat(),
    }


def cancel(shipment_id: str) -> Event:
    return "shipment.cancelled", {"shipment_id": shipment_id, "order_id": f"O-{shipment_id}"}
