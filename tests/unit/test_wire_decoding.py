"""The wire accepts every event of SPEC §3 in both modes (SPEC §5's worked example too),
ignores fields it does not know, and raises nothing but `InvalidMessage` on any bytes.
"""

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backorder_worker.wire import (
    InvalidMessage,
    decode_event,
)
from backorder_worker.wire.inputs import INPUT_DATA_MODELS, ShipmentCreatedData
from tests.unit.wire_examples import (
    SHIPMENT,
    TIME,
    VALID_DATA,
    binary_headers,
    rejection,
    structured,
)


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
