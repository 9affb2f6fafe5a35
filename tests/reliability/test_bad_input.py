"""Bad input through the real worker process: every kind ends as a dead letter with its
reason in the `error.type` header (or as the documented no-op), and the worker goes on.

All of them go into one world, interleaved with valid events, so the suite stays fast;
the checker then holds every record to its expected fate by topic, partition and offset.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.support import World
from tests.reliability.broker_state import read_to_end
from tests.reliability.checker import check
from tests.reliability.conftest import Figures
from tests.reliability.recorder import Recorder
from tests.reliability.scenarios import catalog

MAX_MESSAGE_BYTES = 1_048_576  # the worker's decoder limit (BatchProcessor.max_message_bytes)


def envelope(event_type: str, data: Any, **changes: Any) -> bytes:
    event = {
        "specversion": "1.0",
        "id": f"bad-{event_type}-{datetime.now(UTC).timestamp()}-{len(json.dumps(data))}",
        "source": "tests://bad-input",
        "type": event_type,
        "time": "2026-05-01T10:00:00Z",
        "datacontenttype": "application/json",
        "data": data,
        **changes,
    }
    return json.dumps(event).encode()


STOW = {"location_id": "L1", "sku": "K1", "quantity": 2}
SHIPMENT = {
    "shipment_id": "S-bad",
    "order_id": "O-bad",
    "fulfillment_type": "STH",
    "lines": [{"line_id": "S-bad-1", "sku": "K1", "quantity": 1}],
}

# (what is wrong, topic, value, the `error.type` of its dead letter)
BAD_INPUTS: list[tuple[str, str, bytes, str]] = [
    ("malformed bytes", "stock_stowed", b"\xff\xfe{not json", "malformed-json"),
    ("truncated JSON", "stock_stowed", b'{"specversion": "1.0", "id":', "malformed-json"),
    ("an empty value", "stock_stowed", b"", "malformed-json"),
    ("not a CloudEvent", "shipments", b'["a", "list"]', "not-cloudevent"),
    ("a wrong type", "stock_stowed", envelope("stock.stowed", {**STOW, "quantity": "2"}),
     "schema-violation"),
    ("a missing field", "stock_stowed", envelope("stock.stowed", {"sku": "K1", "quantity": 1}),
     "schema-violation"),
    ("a negative quantity", "stock_stowed", envelope("stock.stowed", {**STOW, "quantity": -5}),
     "schema-violation"),
    ("a huge quantity", "stock_stowed", envelope("stock.stowed", {**STOW, "quantity": 10**30}),
     "schema-violation"),
    ("a huge line quantity", "shipments",
     envelope("shipment.created", {**SHIPMENT, "lines": [{**SHIPMENT["lines"][0],
                                                           "quantity": 2**63}]}),
     "schema-violation"),
    ("an unknown event type", "stock_stowed", envelope("stock.teleported", STOW), "unknown-type"),
    ("a cancel of an unknown shipment", "shipments",
     envelope("shipment.cancelled", {"shipment_id": "S-nobody", "order_id": "O-nobody"}),
     "unknown-shipment"),
    ("a short pick of an unknown shipment", "shipments",
     envelope("shipment.short-picked", {"shipment_id": "S-nobody", "order_id": "O-nobody",
                                        "location_id": "L1",
                                        "lines": [{"line_id": "x", "sku": "K1",
                                                   "missing_quantity": 1}]}),
     "unknown-shipment"),
]  # fmt: skip


def test_every_kind_of_bad_input_is_dead_lettered_with_its_reason_and_the_worker_goes_on(
    world: World, figures: Figures
) -> None:
    recorder = Recorder(world)
    worker = world.start_worker()
    world.wait_applied(recorder.publish(catalog(["K1", "K2"], ["L1"])))
    for index, (_, topic, value, error_type) in enumerate(BAD_INPUTS):
        recorder.publish_raw(topic, value, expect=error_type)
        recorder.publish([("stock.stowed", {"location_id": "L1", "sku": "K2", "quantity": 1})])
        if index == 0:
            # A reused id with other content, in a later batch: the first is applied, the
            # second is a conflict (the same batch: test_batch_claims).
            [first] = recorder.publish([("stock.stowed", STOW)], event_ids=["reused-id"])
            world.wait_applied([first])
            other = envelope("stock.stowed", {**STOW, "quantity": 3}, id="reused-id")
            recorder.publish_raw("stock_stowed", other, expect="conflict", event_id=first)
    after = recorder.publish([("stock.stowed", {"location_id": "L1", "sku": "K1", "quantity": 1})])
    verdict = check(world, recorder)

    figures.add(f"bad input: {len(BAD_INPUTS) + 1} kinds", verdict, None)
    assert worker.is_alive()
    world.wait_applied(after, timeout_s=1)
    letters = read_to_end(world.settings.kafka, [world.settings.topics.dead_letter])
    sent = {s.position: s for s in recorder.sent}
    for letter in letters:
        headers = {name: (raw or b"").decode() for name, raw in letter.headers}
        assert headers["error.message"], headers
        source = sent[
            (headers["source.topic"], int(headers["source.partition"]),
             int(headers["source.offset"]))
        ]  # fmt: skip
        assert (letter.key, letter.value or b"") == (source.key, source.value)
    reasons = {dict(letter.headers)["error.type"].decode() for letter in letters}
    assert reasons == {error_type for *_, error_type in BAD_INPUTS} | {"conflict"}
    assert worker.metric("backorder_dead_letters_total") == len(BAD_INPUTS) + 1


def test_an_oversized_message_is_dead_lettered_and_the_worker_goes_on(world: World) -> None:
    recorder = Recorder(world)
    worker = world.start_worker()
    world.wait_applied(recorder.publish(catalog(["K1"], ["L1"])))
    padded = envelope("stock.stowed", {**STOW, "padding": "x" * (MAX_MESSAGE_BYTES + 10)})
    recorder.publish_raw("stock_stowed", padded, expect="oversized")
    after = recorder.publish([("stock.stowed", STOW)])
    world.wait_applied(after)
    check(world, recorder, timeout_s=4)

    assert worker.is_alive()
    [letter] = read_to_end(world.settings.kafka, [world.settings.topics.dead_letter])
    assert dict(letter.headers)["error.type"] == b"oversized"


def test_an_older_stock_level_after_a_newer_one_is_a_documented_no_op(world: World) -> None:
    recorder = Recorder(world)
    world.start_worker()
    world.wait_applied(recorder.publish(catalog(["K1"], ["L1"])))
    now = datetime.now(UTC)
    newer = {"location_id": "L1", "sku": "K1", "available": 7, "as_of": now.isoformat()}
    older = {**newer, "available": 50, "as_of": (now - timedelta(hours=1)).isoformat()}
    recorder.publish([("stock.level", newer)])
    recorder.publish([("stock.level", older)])
    check(world, recorder)

    [(free, as_of)] = world.sql(
        "select free, level_as_of from stock_positions where location_id = 'L1' and sku = 'K1'"
    )
    assert (free, as_of) == (7, now)
    assert not read_to_end(world.settings.kafka, [world.settings.topics.dead_letter])
