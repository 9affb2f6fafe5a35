"""The wire accepts every event of SPEC §3 in both modes and rejects bad input with reasons."""

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backorder_worker.wire import (
    InvalidMessage,
    decode_event,
    decode_output_event,
    encode_event,
)
from backorder_worker.wire.inputs import INPUT_DATA_MODELS, ShipmentCreatedData
from backorder_worker.wire.outputs import (
    ReleasedShipment,
    ShipmentReleasedData,
    ShipmentUnroutableData,
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


def test_every_input_type_has_an_example() -> None:
    assert set(VALID_DATA) == set(INPUT_DATA_MODELS)


@pytest.mark.parametrize("event_type", sorted(VALID_DATA))
def test_every_input_type_decodes_in_structured_mode(event_type: str) -> None:
    event = decode_event(structured(event_type, VALID_DATA[event_type]), None)

    assert (event.id, event.type, event.source) == ("e-1", event_type, "oms://eu")
    assert event.time == datetime(2026, 5, 1, 10, tzinfo=UTC)
    assert isinstance(event.data, INPUT_DATA_MODELS[event_type])


@pytest.mark.parametrize("event_type", sorted(VALID_DATA))
def test_every_input_type_decodes_in_binary_mode(event_type: str) -> None:
    body = json.dumps(VALID_DATA[event_type]).encode()

    event = decode_event(body, binary_headers(event_type))

    assert (event.id, event.type, event.source) == ("e-1", event_type, "oms://eu")
    assert event.data == INPUT_DATA_MODELS[event_type].model_validate(VALID_DATA[event_type])


def test_unknown_data_fields_are_ignored_for_forward_compatibility() -> None:
    event = decode_event(structured("shipment.cancelled", {**SHIPMENT, "new_field": 1}), None)

    assert event.data.model_dump() == {"shipment_id": "S-100", "order_id": "O-100"}


def test_an_integral_float_is_a_quantity_but_a_fraction_is_not() -> None:
    stowed = {"location_id": "A", "sku": "KTP", "quantity": 5.0}
    assert decode_event(structured("stock.stowed", stowed), None).data == (
        INPUT_DATA_MODELS["stock.stowed"].model_validate({**stowed, "quantity": 5})
    )
    error = rejection(structured("stock.stowed", {**stowed, "quantity": 2.5}))
    assert "data.quantity" in error.message


def line(quantity: object, line_id: str = "L-1") -> dict[str, object]:
    return {"line_id": line_id, "sku": "KTP", "quantity": quantity}


def shipment(**changes: object) -> bytes:
    return structured("shipment.created", {**SHIPMENT, **changes})


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


def test_the_worked_example_of_spec_section_5_decodes() -> None:
    value = (
        b'{"specversion":"1.0","id":"7d1c\xe2\x80\xa6","source":"oms://eu",'
        b'"type":"shipment.created","time":"2026-05-01T09:00:00Z",'
        b'"datacontenttype":"application/json","data":{"shipment_id":"S-100",'
        b'"order_id":"O-100","fulfillment_type":"STH","lines":[{"line_id":"S-100-1",'
        b'"sku":"KTP","quantity":5},{"line_id":"S-100-2","sku":"KTP2","quantity":5}]}}'
    )

    event = decode_event(value, None)

    assert isinstance(event.data, ShipmentCreatedData)
    assert [(x.sku, x.quantity) for x in event.data.lines] == [("KTP", 5), ("KTP2", 5)]
    assert (event.data.priority, event.data.split_allowed, event.data.backorder_days) == (
        0,
        None,
        None,
    )


def test_an_input_event_survives_encode_then_decode() -> None:
    data = ShipmentCreatedData.model_validate(SHIPMENT)
    time = datetime(2026, 5, 1, 9, tzinfo=UTC)

    event = decode_event(encode_event("shipment.created", "oms://eu", "e-9", time, data), None)

    assert (event.id, event.type, event.source, event.time, event.data) == (
        "e-9",
        "shipment.created",
        "oms://eu",
        time,
        data,
    )


def test_an_encoded_event_is_compact_structured_json() -> None:
    data = INPUT_DATA_MODELS["shipment.cancelled"].model_validate(VALID_DATA["shipment.cancelled"])
    time = datetime(2026, 5, 1, 9, tzinfo=UTC)

    encoded = encode_event("shipment.cancelled", "oms://eu", "e-9", time, data)

    assert encoded == (
        b'{"specversion":"1.0","id":"e-9","source":"oms://eu","type":"shipment.cancelled",'
        b'"time":"2026-05-01T09:00:00Z","datacontenttype":"application/json",'
        b'"data":{"shipment_id":"S-100","order_id":"O-100"}}'
    )


def test_encoding_refuses_data_of_another_type() -> None:
    data = ShipmentCreatedData.model_validate(SHIPMENT)

    with pytest.raises(ValueError, match=r"shipment\.cancelled"):
        encode_event("shipment.cancelled", "oms://eu", "e-9", datetime.now(UTC), data)


def test_the_output_examples_of_spec_section_5_round_trip() -> None:
    trigger = {"id": "7d1c", "type": "shipment.created"}
    reason = {"fence": "complete-stock", "mode": "reactive", "sku": "KTP", "detail": "none"}
    unroutable = ShipmentUnroutableData.model_validate(
        {"shipment_id": "S-100", "order_id": "O-100", "state": "WAITING", "overdue": False}
        | {"reasons": [reason | {"requested": 5, "assignable": 0}], "trigger": trigger}
        | {"expected_release_by": "2026-05-15T09:00:00Z"}
    )
    child = {"status": "READY", "location_id": "A", "expected_date": None}
    released = ShipmentReleasedData.model_validate(
        {"shipment_id": "S-100", "order_id": "O-100", "release": "CURRENT"}
        | {"parent_status": "REASSIGNED", "backordered_at": "2026-05-01T09:00:00Z"}
        | {"shipments": [child | {"shipment_id": "S-100-R1", "lines": [line(5, "S-100-1")]}]}
        | {"released_at": TIME, "trigger": trigger | {"type": "stock.stowed"}}
    )
    now = datetime(2026, 5, 1, 10, tzinfo=UTC)

    for data in (unroutable, released):
        encoded = encode_event(data.event_type, "backorder-worker", "o-1", now, data)
        assert decode_output_event(encoded).data == data
    published = json.loads(encode_event(released.event_type, "w", "o-1", now, released))
    assert published["data"]["split_off_shipment_id"] is None
    assert published["data"]["short_lines"] == []


def test_a_future_child_shipment_needs_its_expected_date_and_a_ready_one_has_none() -> None:
    child = {"shipment_id": "S-1", "location_id": "A", "lines": [line(5)]}

    with pytest.raises(ValueError, match="expected_date is required"):
        ReleasedShipment.model_validate(child | {"status": "FUTURE", "expected_date": None})
    with pytest.raises(ValueError, match="expected_date must be null"):
        ReleasedShipment.model_validate(child | {"status": "READY", "expected_date": "2026-05-20"})
    future = ReleasedShipment.model_validate(
        child | {"status": "FUTURE", "expected_date": "2026-05-20"}
    )
    assert future.expected_date == date(2026, 5, 20)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
known_keys = st.sampled_from(
    ["specversion", "id", "source", "type", "time", "data", "lines", "quantity", "line_id"]
)
event_like = st.fixed_dictionaries(
    {"specversion": st.just("1.0") | json_values, "type": st.sampled_from(sorted(VALID_DATA))},
    optional={
        "id": st.text(max_size=4) | json_values,
        "source": st.just("s") | json_values,
        "time": st.just(TIME) | json_values,
        "data": st.dictionaries(known_keys | st.text(max_size=8), json_values) | json_values,
    },
)
header_lists = st.none() | st.lists(
    st.tuples(
        st.sampled_from(["ce_specversion", "ce_id", "ce_type", "ce_time", "content-type", "x"])
        | st.text(max_size=12),
        st.none() | st.binary(max_size=24) | st.sampled_from([b"1.0", b"stock.stowed"]),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    value=st.none() | st.binary(max_size=200) | event_like.map(lambda e: json.dumps(e).encode()),
    headers=header_lists,
)
def test_decoding_any_bytes_raises_nothing_but_invalid_message(
    value: bytes | None, headers: list[tuple[str, bytes | None]] | None
) -> None:
    try:
        decode_event(value, headers)
    except InvalidMessage as error:
        assert error.error_type and error.message
