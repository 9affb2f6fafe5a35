"""`backorder-worker publish` builds valid events from its friendly flags."""

from __future__ import annotations

import pytest

from backorder_worker.wire import InvalidMessage, decode_event
from backorder_worker.wire.input_events import build_event, data_from_flags, key_for

FLAGS = {
    "stock.stowed": {"location": "A", "sku": "KTP", "quantity": 5},
    "stock.level": {"location": "A", "sku": "KTP", "available": 3, "as_of": "2026-05-01T10:00:00Z"},
    "future-inventory.updated": {
        "supply": "PO-1",
        "location": "B",
        "sku": "KTP",
        "quantity": 5,
        "expected_date": "2026-05-15",
    },
    "listing.updated": {"sku": "KTP", "behaviour": "BACKORDER", "future_enabled": True},
    "location.updated": {"location": "A", "active": True, "types": "STH,BOPIS", "rank": 2},
    "shipment.created": {
        "shipment": "S-1",
        "order": "O-1",
        "fulfillment": "STH",
        "lines": ["S-1-1:KTP:5:B1"],
    },
    "shipment.short-picked": {
        "shipment": "S-1",
        "order": "O-1",
        "location": "A",
        "lines": ["S-1-1:KTP:2"],
    },
    "shipment.cancelled": {"shipment": "S-1", "order": "O-1"},
}


@pytest.mark.parametrize("event_type", sorted(FLAGS))
def test_every_event_type_can_be_published_from_flags(event_type: str) -> None:
    data = data_from_flags(event_type, FLAGS[event_type])
    _, value = build_event(event_type, data, event_id="e-1")

    decoded = decode_event(value, None)
    assert (decoded.id, decoded.type) == ("e-1", event_type)
    assert key_for(event_type, data)


def test_a_short_pick_line_carries_the_missing_quantity() -> None:
    data = data_from_flags("shipment.short-picked", FLAGS["shipment.short-picked"])
    assert data["lines"] == [{"line_id": "S-1-1", "sku": "KTP", "missing_quantity": 2}]


def test_an_invalid_event_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(InvalidMessage, match="quantity"):
        build_event("stock.stowed", {"location_id": "A", "sku": "KTP", "quantity": -1})
    with pytest.raises(ValueError, match="unknown event type"):
        data_from_flags("stock.moved", {})
