"""The worker as a real process: events in through the broker, decisions in Postgres,
events out through the broker, and a kill -9 in the middle."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime

from backorder_worker.devstack.demo_scenarios import catalog_events, scenarios
from tests.e2e.support import World


def test_the_six_seed_examples_flow_through_kafka(world: World) -> None:
    world.start_worker()
    world.wait_applied(world.publish(catalog_events()))
    plays = scenarios(datetime.now(UTC).date())
    world.wait_applied(world.publish(s.shipment for s in plays))
    world.wait_applied(world.publish(e for s in plays for e in s.inventory))
    world.wait_outbox_drained()

    released = {
        e["data"]["order_id"]: e["data"]
        for e in world.outputs("shipment_released")
        if e["type"] == "shipment.released"
    }
    assert sorted(released) == ["O-100", "O-300", "O-500"]
    first = released["O-100"]
    assert (first["release"], first["parent_status"]) == ("CURRENT", "REASSIGNED")
    assert sorted((s["location_id"], s["lines"][0]["sku"]) for s in first["shipments"]) == [
        ("A", "KTP-1"),
        ("B", "KTP2-1"),
    ]
    assert released["O-300"]["release"] == "FUTURE"
    assert released["O-500"]["release"] == "CURRENT_AND_FUTURE"
    waiting = {
        row[0] for row in world.sql("select shipment_id from shipments where state='WAITING'")
    }
    assert waiting == {"S-200", "S-400", "S-600"}


def test_an_event_id_sent_twice_has_one_effect(world: World) -> None:
    world.start_worker()
    world.wait_applied(world.publish(catalog_events()))
    stow = ("stock.stowed", {"location_id": "A", "sku": "KTP-1", "quantity": 5})
    world.publish([stow, stow], event_ids=["same-id", "same-id"])
    world.wait_applied(["same-id"])
    marker = world.publish([("stock.stowed", {"location_id": "A", "sku": "KTP-1", "quantity": 1})])
    world.wait_applied(marker)

    [(free,)] = world.sql("select free from stock_positions where location_id='A' and sku='KTP-1'")
    assert free == 6


def test_a_malformed_message_goes_to_dead_letter_and_the_next_event_is_processed(
    world: World,
) -> None:
    world.start_worker()
    topic = world.settings.topics.stock_stowed
    world.publish_raw(topic, b"KTP-1", b"{not json")
    after = world.publish([("stock.stowed", {"location_id": "A", "sku": "KTP-1", "quantity": 2})])
    world.wait_applied(after)
    world.wait_outbox_drained()

    [letter] = world.read("dead_letter")
    headers = dict(letter.headers)
    assert letter.value == b"{not json"
    assert headers["error.type"] == b"malformed-json"
    assert headers["source.topic"] == topic.encode()
    assert {"error.message", "source.partition", "source.offset"} <= set(headers)


def test_a_worker_killed_mid_stream_loses_nothing_and_releases_nothing_twice(world: World) -> None:
    rnd = random.Random(11)
    skus = [f"K{i}" for i in range(5)]
    world.start_worker(BACKORDER_KAFKA__MAX_POLL_RECORDS="10")
    setup = [
        ("location.updated", {"location_id": "L1", "active": True, "fulfillment_types": ["STH"]})
    ]
    setup += [("listing.updated", {"sku": s, "out_of_stock_behaviour": "BACKORDER"}) for s in skus]
    world.wait_applied(world.publish(setup))
    orders = [
        (
            "shipment.created",
            {
                "shipment_id": f"S-{n}",
                "order_id": f"O-{n}",
                "fulfillment_type": "STH",
                "lines": [
                    {"line_id": f"S-{n}-{i}", "sku": sku, "quantity": rnd.randint(1, 2)}
                    for i, sku in enumerate(rnd.sample(skus, rnd.randint(1, 2)))
                ],
            },
        )
        for n in range(120)
    ]
    world.wait_applied(world.publish(orders))
    stows = [
        (
            "stock.stowed",
            {"location_id": "L1", "sku": rnd.choice(skus), "quantity": rnd.randint(1, 3)},
        )
        for _ in range(200)
    ]
    stow_ids = world.publish(stows)

    _wait_until_some_applied(world, stow_ids, at_least=40)
    world.workers[0].kill()
    [(applied_before_restart,)] = world.sql(
        "select count(*) from inbox where event_id = any(:ids)", ids=stow_ids
    )
    assert applied_before_restart < len(stow_ids), "the kill came too late to test anything"
    world.start_worker(BACKORDER_KAFKA__MAX_POLL_RECORDS="10")
    world.wait_applied(stow_ids, timeout_s=120)
    world.wait_outbox_drained()

    # Every release published, none twice (by decision), and every decision published.
    releases = [e for e in world.outputs("shipment_released") if e["type"] == "shipment.released"]
    ids_by_shipment: dict[str, set[str]] = defaultdict(set)
    for event in releases:
        ids_by_shipment[event["data"]["shipment_id"]].add(event["id"])
    assert all(len(ids) == 1 for ids in ids_by_shipment.values())
    released_in_db = {
        r[0]
        for r in world.sql(
            "select shipment_id from shipments"
            " where parent_id is null and state in ('READY', 'REASSIGNED')"
        )
    }
    assert set(ids_by_shipment) == released_in_db
    # No oversell: what was stowed is either still free or allocated, never less.
    stowed: dict[str, int] = defaultdict(int)
    for _, data in stows:
        stowed[data["sku"]] += data["quantity"]
    free = dict(world.sql("select sku, free from stock_positions where location_id='L1'"))
    allocated = dict(world.sql("select sku, sum(quantity) from allocations group by sku"))
    for sku in skus:
        assert free.get(sku, 0) + allocated.get(sku, 0) == stowed[sku], sku
    # At quiescence no waiting shipment could be completed from the stock left (I3).
    for (lines,) in world.sql("select lines from shipments where state='WAITING'"):
        need: dict[str, int] = defaultdict(int)
        for line in lines:
            need[line["sku"]] += line["quantity"]
        assert any(free.get(sku, 0) < n for sku, n in need.items()), lines


def _wait_until_some_applied(world: World, ids: list[str], at_least: int) -> None:
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        [(done,)] = world.sql("select count(*) from inbox where event_id = any(:ids)", ids=ids)
        if done >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError("the worker applied too little before the kill")
