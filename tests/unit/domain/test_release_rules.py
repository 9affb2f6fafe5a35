"""The release rules of SPEC §2 beyond the seed examples: R1, R3, R4, R6, R7, R10, R12, R13."""

from __future__ import annotations

from datetime import timedelta

from backorder_worker.domain.fences import Fence
from backorder_worker.domain.inventory import Supply
from backorder_worker.domain.model import (
    FulfillmentType,
    Listing,
    Location,
    OutOfStockBehaviour,
    PartialRelease,
    ReleaseOrder,
    ReleasePolicy,
)
from backorder_worker.domain.outcomes import PaymentAction, ReleaseKind, ShipmentStatus, WaitState
from backorder_worker.domain.receiving import free_units_from_level, receive_stowed

from .builders import (
    BACKORDERED_AT,
    NOW,
    TODAY,
    catalog,
    day,
    decide,
    line,
    released,
    shipment,
    supply,
    unroutable,
    waiting,
)


def test_one_location_holding_everything_keeps_the_parent_id_and_makes_it_ready() -> None:
    order = shipment("S-1", line("KTP", 2), line("KTP2", 2))
    stock = {("A", "KTP"): 2, ("B", "KTP"): 2, ("B", "KTP2"): 2}
    release = released(decide([waiting(order)], current=stock))["S-1"]

    assert release.parent_status is ShipmentStatus.READY
    assert [(s.shipment_id, s.location_id) for s in release.shipments] == [("S-1", "B")]


def test_current_stock_is_preferred_to_future_supply_even_at_the_cost_of_a_split() -> None:
    order = shipment("S-1", line("KTP", 5))
    decisions = decide(
        [waiting(order)],
        current={("A", "KTP"): 3},
        supplies=[supply("PO-1", "A", "KTP", 5, TODAY + timedelta(days=3))],
    )
    release = released(decisions)["S-1"]

    assert release.release is ReleaseKind.CURRENT_AND_FUTURE
    assert [(s.status, sum(ln.quantity for ln in s.lines)) for s in release.shipments] == [
        (ShipmentStatus.READY, 3),
        (ShipmentStatus.FUTURE, 2),
    ]


def test_the_location_rank_breaks_a_tie_before_the_location_id() -> None:
    cat = catalog(locations=[Location("A", rank=2), Location("B", rank=1)])
    order = shipment("S-1", line("KTP", 1))
    release = released(decide([waiting(order)], cat, {("A", "KTP"): 1, ("B", "KTP"): 1}))["S-1"]

    assert release.shipments[0].location_id == "B"


def test_the_earliest_future_date_wins_among_equal_locations() -> None:
    order = shipment("S-1", line("KTP", 1))
    supplies = [supply("PO-A", "A", "KTP", 1, day(5, 9)), supply("PO-B", "B", "KTP", 1, day(5, 2))]
    release = released(decide([waiting(order)], supplies=supplies))["S-1"]

    assert (release.shipments[0].location_id, release.shipments[0].expected_date) == (
        "B",
        day(5, 2),
    )


def test_supply_beyond_the_future_date_limit_is_not_used() -> None:
    policy = ReleasePolicy(future_date_limit_days=10)
    order = shipment("S-1", line("KTP", 1))
    late = [supply("PO-1", "A", "KTP", 1, TODAY + timedelta(days=11))]

    assert not released(decide([waiting(order)], supplies=late, policy=policy))
    assert released(
        decide([waiting(order)], supplies=late, policy=policy, now=NOW + timedelta(days=1))
    )


def test_future_supply_needs_the_product_setting_as_well_as_the_site_setting() -> None:
    cat = catalog(
        listings=[Listing("KTP", OutOfStockBehaviour.PREORDER, future_inventory_enabled=False)]
    )
    order = shipment("S-1", line("KTP", 1))
    supplies = [supply("PO-1", "A", "KTP", 1, day(5, 2))]

    assert not released(decide([waiting(order)], cat, supplies=supplies))
    site_off = ReleasePolicy(future_inventory_enabled=False)
    assert not released(decide([waiting(order)], supplies=supplies, policy=site_off))


def test_partial_release_by_line_releases_complete_lines_and_splits_off_the_rest() -> None:
    policy = ReleasePolicy(partial_release=PartialRelease.LINE)
    order = shipment("S-1", line("KTP", 5), line("KTP2", 5))
    decisions = decide([waiting(order)], current={("A", "KTP"): 5, ("A", "KTP2"): 3}, policy=policy)

    release = released(decisions)["S-1"]
    assert [(ln.sku, ln.quantity) for s in release.shipments for ln in s.lines] == [("KTP", 5)]
    assert release.split_off is not None
    assert [(ln.sku, ln.quantity) for ln in release.split_off.shipment.lines] == [("KTP2", 5)]
    assert release.split_off.entered_at == BACKORDERED_AT


def test_partial_release_by_quantity_releases_what_is_there() -> None:
    policy = ReleasePolicy(partial_release=PartialRelease.QUANTITY)
    order = shipment("S-1", line("KTP", 5), line("KTP2", 5))
    decisions = decide([waiting(order)], current={("A", "KTP"): 5, ("A", "KTP2"): 3}, policy=policy)

    release = released(decisions)["S-1"]
    assert sorted((ln.sku, ln.quantity) for s in release.shipments for ln in s.lines) == [
        ("KTP", 5),
        ("KTP2", 3),
    ]
    assert release.split_off is not None
    assert [(ln.sku, ln.quantity) for ln in release.split_off.shipment.lines] == [("KTP2", 2)]


def test_without_partial_release_a_waiting_shipment_goes_whole_or_not_at_all() -> None:
    order = shipment("S-1", line("KTP", 5), line("KTP2", 5))
    decisions = decide([waiting(order)], current={("A", "KTP"): 5, ("A", "KTP2"): 3})

    assert not released(decisions)


def test_bopis_uses_the_pickup_location_only() -> None:
    order = shipment("S-1", line("KTP", 1), bopis_at="B")
    assert not released(decide([waiting(order)], current={("A", "KTP"): 9}))
    assert (
        released(decide([waiting(order)], current={("B", "KTP"): 1}))["S-1"]
        .shipments[0]
        .location_id
        == "B"
    )


def test_a_location_that_does_not_serve_the_fulfilment_type_is_fenced() -> None:
    cat = catalog(locations=[Location("A", fulfillment_types=frozenset({FulfillmentType.BOPIS}))])
    decisions = decide([waiting(shipment("S-1", line("KTP", 1)))], cat, {("A", "KTP"): 1})

    entry = unroutable(decisions)["S-1"]
    assert entry.state is WaitState.UNROUTABLE
    assert entry.reasons[0].fence is Fence.FULFILLMENT_TYPE


def test_without_split_stock_spread_over_two_locations_does_not_release() -> None:
    order = shipment("S-1", line("KTP", 5), line("KTP2", 5), split=False)
    decisions = decide([waiting(order)], current={("A", "KTP"): 5, ("B", "KTP2"): 5})

    assert not released(decisions)
    assert "not at one location" in unroutable(decisions)["S-1"].reasons[0].detail


def test_waiting_shipments_are_served_first_in_first_out() -> None:
    early = waiting(shipment("S-late-id", line("KTP", 1)), at=BACKORDERED_AT)
    late = waiting(shipment("S-a", line("KTP", 1)), at=BACKORDERED_AT + timedelta(hours=1))

    assert list(released(decide([late, early], current={("A", "KTP"): 1}))) == ["S-late-id"]


def test_the_priority_order_serves_the_highest_priority_first() -> None:
    policy = ReleasePolicy(release_order=ReleaseOrder.PRIORITY)
    early = waiting(shipment("S-1", line("KTP", 1)), at=BACKORDERED_AT)
    urgent = waiting(
        shipment("S-2", line("KTP", 1), priority=5), at=BACKORDERED_AT + timedelta(hours=1)
    )

    assert list(released(decide([early, urgent], current={("A", "KTP"): 1}, policy=policy))) == [
        "S-2"
    ]


def test_skipping_lets_a_later_shipment_take_stock_an_earlier_one_cannot_use() -> None:
    early = waiting(shipment("S-1", line("KTP", 5)), at=BACKORDERED_AT)
    later = waiting(shipment("S-2", line("KTP", 2)), at=BACKORDERED_AT + timedelta(hours=1))

    assert list(released(decide([early, later], current={("A", "KTP"): 3}))) == ["S-2"]
    held = decide([early, later], current={("A", "KTP"): 3}, policy=ReleasePolicy(allow_skip=False))
    assert not released(held)
    assert sorted(unroutable(held, WaitState.WAITING)) == ["S-1", "S-2"]


def test_void_and_reauth_is_asked_for_on_release_when_the_site_wants_it() -> None:
    policy = ReleasePolicy(void_and_reauth_on_release=True)
    release = released(
        decide([waiting(shipment("S-1", line("KTP", 1)))], current={("A", "KTP"): 1}, policy=policy)
    )

    assert release["S-1"].payment_action is PaymentAction.VOID_AND_REAUTH


def test_a_shipment_past_its_expected_backorder_time_is_flagged_overdue() -> None:
    order = shipment("S-1", line("KTP", 1), backorder_days=2)
    entry = unroutable(decide([waiting(order)]))["S-1"]

    assert entry.expected_release_by == BACKORDERED_AT + timedelta(days=2)
    assert entry.overdue
    assert not unroutable(decide([waiting(shipment("S-2", line("KTP", 1)))]))["S-2"].overdue


def test_stowed_supply_first_covers_what_was_promised_from_it() -> None:
    promised = Supply("PO-1", "A", "KTP", 10, day(5, 1), promised=6)

    stowed = receive_stowed(8, promised)
    assert (stowed.free_units, stowed.covered) == (2, 6)
    assert stowed.supply == Supply("PO-1", "A", "KTP", 2, day(5, 1), promised=0)
    assert receive_stowed(4, None).free_units == 4


def test_an_absolute_level_subtracts_what_was_assigned_since_it_was_taken() -> None:
    assert free_units_from_level(10, 3) == 7
    assert free_units_from_level(2, 3) == 0
