"""Examples of the wire format the wire tests share: a valid `data` for every input type
of SPEC §3, CloudEvents in structured mode and binary-mode headers built around them, and
the `InvalidMessage` a bad input raises.
"""

import json
from typing import Any

import pytest

from backorder_worker.wire import (
    InvalidMessage,
    decode_event,
)

TIME = "2026-05-01T10:00:00Z"
SHIPMENT = {
    "shipment_id": "S-100",
    "order_id": "O-100",
    "fulfillment_type": "STH",
    "lines": [
        {"line_id": "S-100-1", "sku": "KTP", "quantity": 5},
        {"line_id": "S-100-2", "sku": "KTP2", "quantity": 5, "bundle_id": "B-1"},
    ],
}
VALID_DATA: dict[str, dict[str, Any]] = {
    "stock.stowed": {"location_id": "A", "sku": "KTP", "quantity": 5, "supply_id": "PO-1"},
    "stock.level": {"location_id": "A", "sku": "KTP", "available": 0, "as_of": TIME},
    "future-inventory.updated": {
        "supply_id": "PO-1",
        "location_id": "A",
        "sku": "KTP",
        "quantity": 0,
        "expected_date": "2026-05-20",
    },
    "listing.updated": {"sku": "KTP", "out_of_stock_behaviour": "BACKORDER"},
    "location.updated": {"location_id": "A", "active": True, "fulfillment_types": ["STH"]},
    "shipment.created": SHIPMENT,
    "shipment.short-picked": {
        "shipment_id": "S-100",
        "order_id": "O-100",
        "location_id": "A",
        "lines": [{"line_id": "S-100-1", "sku": "KTP", "missing_quantity": 2}],
    },
    "shipment.cancelled": {"shipment_id": "S-100", "order_id": "O-100"},
}


def structured(event_type: str, data: object, **attributes: object) -> bytes:
    event: dict[str, object] = {"specversion": "1.0", "id": "e-1", "source": "oms://eu"}
    event |= {"type": event_type, "time": TIME, "datacontenttype": "application/json", "data": data}
    return json.dumps(event | attributes).encode()


def binary_headers(event_type: str) -> list[tuple[str, bytes]]:
    attributes = {"specversion": "1.0", "id": "e-1", "source": "oms://eu", "type": event_type}
    headers = [(f"ce_{name}", value.encode()) for name, value in attributes.items()]
    return [*headers, ("ce_time", TIME.encode()), ("content-type", b"application/json")]


def rejection(value: bytes | None, headers: list[tuple[str, bytes]] | None = None) -> Any:
    with pytest.raises(InvalidMessage) as caught:
        decode_event(value, headers)
    return caught.value


def line(quantity: object, line_id: str = "L-1") -> dict[str, object]:
    return {"line_id": line_id, "sku": "KTP", "quantity": quantity}


def shipment(**changes: object) -> bytes:
    return structured("shipment.created", {**SHIPMENT, **changes})
