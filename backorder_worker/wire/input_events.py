"""One valid input event built from data or from the CLI's friendly flags, with its topic
and key: for `backorder-worker publish`, `what-if`, the demo, the tests and the bench.

The event is validated with the same models the worker decodes with, before anything is
sent, so a person or a script gets the error at once instead of a dead letter later.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from backorder_worker.settings import Settings
from backorder_worker.wire import decode_event, encode_event
from backorder_worker.wire.inputs import INPUT_DATA_MODELS

KEY_FIELD = {
    "stock.stowed": "sku",
    "stock.level": "sku",
    "future-inventory.updated": "sku",
    "listing.updated": "sku",
    "location.updated": "location_id",
    "shipment.created": "order_id",
    "shipment.short-picked": "order_id",
    "shipment.cancelled": "order_id",
}


def topic_for(event_type: str, settings: Settings) -> str:
    t = settings.topics
    return {
        "stock.stowed": t.stock_stowed,
        "stock.level": t.stock_stowed,
        "future-inventory.updated": t.future_inventory,
        "listing.updated": t.catalog,
        "location.updated": t.catalog,
        "shipment.created": t.shipments,
        "shipment.short-picked": t.shipments,
        "shipment.cancelled": t.shipments,
    }[event_type]


def parse_line(text: str) -> dict[str, Any]:
    """`LINE_ID:SKU:QUANTITY[:BUNDLE]` (or `:MISSING` for short picks)."""
    parts = text.split(":")
    if len(parts) not in (3, 4):
        raise ValueError(f"a line is LINE_ID:SKU:QUANTITY[:BUNDLE], not {text!r}")
    if not parts[2].isdigit():
        raise ValueError(f"line {text!r}: QUANTITY must be a whole number, not {parts[2]!r}")
    line: dict[str, Any] = {"line_id": parts[0], "sku": parts[1], "quantity": int(parts[2])}
    if len(parts) == 4:
        line["bundle_id"] = parts[3]
    return line


def build_event(
    event_type: str,
    data: Mapping[str, Any],
    *,
    event_id: str | None = None,
    source: str = "backorder-worker-cli",
    time: datetime | None = None,
) -> tuple[str, bytes]:
    """The event's id and its encoded bytes; raises InvalidMessage when it is not valid."""
    if event_type not in INPUT_DATA_MODELS:
        raise ValueError(f"unknown event type {event_type!r}; one of {sorted(INPUT_DATA_MODELS)}")
    event_id = event_id or str(uuid.uuid4())
    envelope = {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": event_type,
        "time": (time or datetime.now(UTC)).isoformat(),
        "datacontenttype": "application/json",
        "data": dict(data),
    }
    raw = json.dumps(envelope, separators=(",", ":")).encode()
    decoded = decode_event(raw, None)  # validates exactly as the worker will
    value = encode_event(decoded.type, decoded.source, decoded.id, decoded.time, decoded.data)
    return event_id, value


def key_for(event_type: str, data: Mapping[str, Any]) -> bytes:
    return str(data[KEY_FIELD[event_type]]).encode()


def data_from_flags(event_type: str, flags: Mapping[str, Any]) -> dict[str, Any]:
    """The `data` of an event from the CLI's friendly flags (unset flags are left out)."""
    lines = [parse_line(text) for text in flags.get("lines") or ()]
    if event_type == "shipment.short-picked":
        lines = [
            {"line_id": ln["line_id"], "sku": ln["sku"], "missing_quantity": ln["quantity"]}
            for ln in lines
        ]
    types = flags.get("types")
    candidates: dict[str, Any] = {
        "location_id": flags.get("location") or flags.get("pickup_location"),
        "sku": flags.get("sku"),
        "quantity": flags.get("quantity"),
        "available": flags.get("available"),
        "as_of": flags.get("as_of"),
        "supply_id": flags.get("supply"),
        "expected_date": flags.get("expected_date"),
        "out_of_stock_behaviour": flags.get("behaviour"),
        "future_inventory_enabled": flags.get("future_enabled"),
        "active": flags.get("active"),
        "fulfillment_types": types.split(",") if types else None,
        "rank": flags.get("rank"),
        "shipment_id": flags.get("shipment"),
        "order_id": flags.get("order"),
        "fulfillment_type": flags.get("fulfillment"),
        "pickup_location_id": flags.get("pickup"),
        "lines": lines or None,
        "priority": flags.get("priority"),
    }
    model = INPUT_DATA_MODELS.get(event_type)
    if model is None:
        raise ValueError(f"unknown event type {event_type!r}; one of {sorted(INPUT_DATA_MODELS)}")
    return {k: v for k, v in candidates.items() if v is not None and k in model.model_fields}
