"""The wire rejects bad input with reasons: the error type the dead letter carries, and a
message naming the problem (malformed JSON, not a CloudEvent, bad data, oversized).
"""

import json

import pytest

from backorder_worker.wire import (
    InvalidMessage,
    decode_event,
)
from tests.unit.wire_examples import (
    VALID_DATA,
    binary_headers,
    line,
    rejection,
    shipment,
    structured,
)

BAD_INPUTS = {
    "malformed bytes": (b"\xff\xfe\x00{", "malformed-json", "JSON"),
    "invalid UTF-8": (b'{"id": "\xff"}', "malformed-json", "JSON"),
    "truncated JSON": (b'{"specversion": "1.0", ', "malformed-json", "JSON"),
    "an empty value": (b"", "malformed-json", "empty"),
    "a NaN": (shipment(priority=float("nan")), "malformed-json", "NaN"),
    "a JSON array": (b"[1, 2]", "not-cloudevent", "JSON object"),
    "another specversion": (
        structured("stock.stowed", {}, specversion="0.3"),
        "not-cloudevent",
        "specversion",
    ),
    "no time": (structured("stock.stowed", {}, time=None), "not-cloudevent", "time"),
    "a time without zone": (
        structured("stock.stowed", {}, time="2026-05-01T10:00:00"),
        "not-cloudevent",
        "time",
    ),
    "XML data": (
        structured("stock.stowed", {}, datacontenttype="application/xml"),
        "not-cloudevent",
        "datacontenttype",
    ),
    "an unknown type": (structured("stock.teleported", {}), "unknown-type", "stock.teleported"),
    "data that is not an object": (structured("stock.stowed", [1]), "schema-violation", "data"),
    "a missing field": (
        structured("shipment.cancelled", {"shipment_id": "S-1"}),
        "schema-violation",
        "data.order_id",
    ),
    "a wrong type": (shipment(order_id=100), "schema-violation", "data.order_id"),
    "an empty id": (shipment(order_id=" "), "schema-violation", "data.order_id"),
    "a quantity as text": (
        shipment(lines=[line("5")]),
        "schema-violation",
        "data.lines[0].quantity",
    ),
    "a negative quantity": (
        shipment(lines=[line(-1)]),
        "schema-violation",
        "data.lines[0].quantity",
    ),
    "a zero quantity": (shipment(lines=[line(0)]), "schema-violation", "data.lines[0].quantity"),
    "a huge quantity": (
        shipment(lines=[line(10**30)]),
        "schema-violation",
        "less than or equal to 1000000000",
    ),
    "a bool as quantity": (
        shipment(lines=[line(True)]),
        "schema-violation",
        "data.lines[0].quantity",
    ),
    "no lines": (shipment(lines=[]), "schema-violation", "data.lines"),
    "duplicate line ids": (shipment(lines=[line(1), line(2)]), "schema-violation", "data.lines"),
    "BOPIS without pickup": (
        shipment(fulfillment_type="BOPIS"),
        "schema-violation",
        "data.pickup_location_id",
    ),
    "STH with a pickup": (
        shipment(pickup_location_id="A"),
        "schema-violation",
        "data.pickup_location_id",
    ),
    "a bad behaviour": (
        structured("listing.updated", {"sku": "K", "out_of_stock_behaviour": "MAYBE"}),
        "schema-violation",
        "data.out_of_stock_behaviour",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_raises_invalid_message_naming_the_problem(case: str) -> None:
    value, error_type, named = BAD_INPUTS[case]

    error = rejection(value)

    assert error.error_type == error_type
    assert named in error.message


def test_a_message_over_the_size_limit_is_oversized() -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode_event(structured("stock.stowed", {"sku": "x" * 2000}), None, max_bytes=1000)

    assert caught.value.error_type == "oversized"


def test_a_tombstone_is_not_an_event() -> None:
    assert rejection(None).error_type == "malformed-json"


def test_binary_mode_without_an_id_header_names_it() -> None:
    headers = [(k, v) for k, v in binary_headers("shipment.cancelled") if k != "ce_id"]

    error = rejection(json.dumps(VALID_DATA["shipment.cancelled"]).encode(), headers)

    assert error.error_type == "not-cloudevent"
    assert "id: Field required" in error.message
