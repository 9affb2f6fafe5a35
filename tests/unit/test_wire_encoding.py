"""The wire encodes what the worker publishes: compact structured JSON that decodes back
to the same event, only with data of the event's own type; SPEC §5's output examples round
trip, and a child shipment's expected date follows its status.
"""

import json
from datetime import UTC, date, datetime

import pytest

from backorder_worker.wire import (
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
from tests.unit.wire_examples import SHIPMENT, TIME, VALID_DATA, line


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
