"""The content mode of an input record is chosen by its `content-type` header, as the
CloudEvents Kafka protocol binding says (§3): `application/cloudevents…` is structured mode
whatever `ce_*` headers come with it; anything else is binary mode."""

from __future__ import annotations

import json

import pytest

from backorder_worker.wire import InvalidMessage, decode_event
from tests.unit.wire_examples import binary_headers, rejection, structured

STOWED = {"location_id": "A", "sku": "KTP", "quantity": 5}
STRUCTURED_JSON = ("content-type", b"application/cloudevents+json; charset=UTF-8")


def test_structured_mode_with_stray_ce_headers_reads_the_value_and_ignores_the_headers() -> None:
    stray = [("ce_id", b"header-id"), ("ce_type", b"shipment.cancelled"), ("ce_specversion", b"1")]

    event = decode_event(structured("stock.stowed", STOWED), [*stray, STRUCTURED_JSON])

    assert (event.id, event.type) == ("e-1", "stock.stowed")


@pytest.mark.parametrize(
    "content_type",
    [b"application/cloudevents+json", b"Application/CloudEvents+JSON;charset=utf-8"],
)
def test_the_cloudevents_media_type_is_matched_without_regard_to_case(content_type: bytes) -> None:
    headers = [("ce_specversion", b"1.0"), ("Content-Type", content_type)]

    assert decode_event(structured("stock.stowed", STOWED), headers).id == "e-1"


def test_binary_mode_is_chosen_by_a_content_type_that_is_not_cloudevents() -> None:
    event = decode_event(json.dumps(STOWED).encode(), binary_headers("stock.stowed"))

    assert (event.id, event.type) == ("e-1", "stock.stowed")


def test_binary_mode_without_a_content_type_header_is_binary_mode() -> None:
    headers = [(k, v) for k, v in binary_headers("stock.stowed") if k != "content-type"]

    assert decode_event(json.dumps(STOWED).encode(), headers).type == "stock.stowed"


def test_binary_mode_missing_its_specversion_header_says_so_instead_of_reading_the_value() -> None:
    headers = [(k, v) for k, v in binary_headers("stock.stowed") if k != "ce_specversion"]

    error = rejection(structured("stock.stowed", STOWED), headers)

    assert error.error_type == "not-cloudevent"
    assert "ce_* headers" in error.message and "specversion" in error.message


def test_a_record_without_any_ce_header_is_read_as_a_whole_event() -> None:
    for headers in (None, [], [("content-type", b"application/json")], [("x-trace", b"1")]):
        assert decode_event(structured("stock.stowed", STOWED), headers).id == "e-1"


@pytest.mark.parametrize(
    "content_type",
    [b"application/cloudevents+avro", b"application/cloudevents-batch+json"],
)
def test_another_event_format_is_refused_with_the_one_read(content_type: bytes) -> None:
    error = rejection(structured("stock.stowed", STOWED), [("content-type", content_type)])

    assert error.error_type == "not-cloudevent"
    assert "application/cloudevents+json" in error.message


def test_a_content_type_that_is_not_text_is_invalid_not_a_crash() -> None:
    with pytest.raises(InvalidMessage, match="not UTF-8"):
        decode_event(structured("stock.stowed", STOWED), [("content-type", b"\xff\xfe")])
