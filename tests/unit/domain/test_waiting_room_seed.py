"""The rules of the waiting-room seed: reactive complete-stock fence, splits and bundles."""

from __future__ import annotations

from backorder_worker.domain.fences import Fence
from backorder_worker.domain.model import FenceMode, Location, ReleasePolicy
from backorder_worker.domain.outcomes import ShipmentStatus, WaitState

from .builders import (
    arriving,
    catalog,
    decide,
    line,
    released,
    shipment,
    unroutable,
    waiting,
)


def test_a_backorderable_shipment_without_stock_waits_instead_of_being_routed() -> None:
    decisions = decide([arriving(shipment("S-1", line("KTP", 5)))])

    entry = unroutable(decisions)["S-1"]
    assert entry.state is WaitState.WAITING
    assert entry.reasons[0].fence is Fence.COMPLETE_STOCK
    assert entry.reasons[0].mode is FenceMode.REACTIVE


def test_a_shipment_missing_an_item_that_cannot_be_backordered_is_unroutable() -> None:
    cat = catalog(not_backorderable=["PLAIN"])
    decisions = decide([arriving(shipment("S-1", line("PLAIN", 1), split=False))], cat)

    assert unroutable(decisions)["S-1"].state is WaitState.UNROUTABLE


def test_with_a_static_complete_stock_fence_nothing_waits() -> None:
    policy = ReleasePolicy(complete_stock_mode=FenceMode.STATIC)
    decisions = decide([arriving(shipment("S-1", line("KTP", 5)))], policy=policy)

    entry = unroutable(decisions)["S-1"]
    assert entry.state is WaitState.UNROUTABLE
    assert entry.reasons[-1].mode is FenceMode.STATIC


def test_stock_that_covers_only_some_waiting_orders_leaves_the_rest_unroutable_again() -> None:
    orders = [waiting(shipment(f"S-{i}", line("KTP", 2))) for i in range(1, 5)]
    decisions = decide(orders, current={("A", "KTP"): 5})

    assert sorted(released(decisions)) == ["S-1", "S-2"]
    assert sorted(unroutable(decisions, WaitState.WAITING)) == ["S-3", "S-4"]


def test_every_fence_is_evaluated_so_that_all_reasons_are_recorded() -> None:
    cat = catalog(
        locations=[Location("A"), Location("B", active=False), Location("C")],
        backorder=["KTP"],
    )
    decisions = decide([arriving(shipment("S-1", line("KTP", 5), line("NEW", 1)))], cat)

    reasons = {(r.fence, r.location_id, r.sku) for r in unroutable(decisions)["S-1"].reasons}
    assert (Fence.LOCATION_INACTIVE, "B", None) in reasons
    assert (Fence.SKU_NOT_LISTED, "A", "NEW") in reasons
    assert (Fence.SKU_NOT_LISTED, "C", "NEW") in reasons
    assert (Fence.COMPLETE_STOCK, None, "KTP") in reasons
    assert (Fence.COMPLETE_STOCK, None, "NEW") in reasons


def test_a_static_block_makes_the_shipment_unroutable_even_when_the_rest_could_wait() -> None:
    decisions = decide([arriving(shipment("S-1", line("KTP", 5), line("NEW", 1), split=False))])

    assert unroutable(decisions)["S-1"].state is WaitState.UNROUTABLE


def test_on_intake_the_missing_backorderable_part_is_split_off_into_the_waiting_room() -> None:
    order = shipment("S-1", line("KTP", 5), line("KTP2", 5))
    decisions = decide([arriving(order)], current={("A", "KTP"): 5})

    release = released(decisions)["S-1"]
    assert release.parent_status is ShipmentStatus.READY
    assert [(s.shipment_id, s.location_id) for s in release.shipments] == [("S-1", "A")]
    assert release.split_off is not None
    assert release.split_off.shipment.shipment_id == "S-1-B"
    assert [(ln.sku, ln.quantity) for ln in release.split_off.shipment.lines] == [("KTP2", 5)]
    assert unroutable(decisions, WaitState.WAITING)["S-1-B"].shipment.lines[0].sku == "KTP2"


def test_a_missing_item_that_cannot_be_backordered_stays_on_the_original_as_short() -> None:
    cat = catalog(backorder=["KTP", "KTP2"], not_backorderable=["PLAIN"])
    order = shipment("S-1", line("KTP", 5), line("KTP2", 5), line("PLAIN", 1))
    decisions = decide([arriving(order)], cat, current={("A", "KTP"): 5})

    release = released(decisions)["S-1"]
    assert release.split_off is None
    assert sorted((ln.sku, ln.quantity) for ln in release.short_lines) == [
        ("KTP2", 5),
        ("PLAIN", 1),
    ]
    assert not unroutable(decisions)


def test_without_split_a_shipment_missing_a_plain_item_is_unroutable() -> None:
    cat = catalog(backorder=["KTP"], not_backorderable=["PLAIN"])
    order = shipment("S-1", line("KTP", 5), line("PLAIN", 1), split=False)
    decisions = decide([arriving(order)], cat, current={("A", "KTP"): 5})

    assert not released(decisions)
    assert unroutable(decisions)["S-1"].state is WaitState.UNROUTABLE


def test_a_bundle_missing_one_item_goes_to_the_remainder_whole() -> None:
    order = shipment(
        "S-1",
        line("KTP", 1, "L1", bundle="BND"),
        line("KTP2", 1, "L2", bundle="BND"),
        line("KTP3", 1, "L3"),
    )
    decisions = decide([arriving(order)], current={("A", "KTP"): 1, ("A", "KTP3"): 1})

    release = released(decisions)["S-1"]
    assert [ln.line_id for s in release.shipments for ln in s.lines] == ["L3"]
    assert release.split_off is not None
    assert [ln.line_id for ln in release.split_off.shipment.lines] == ["L1", "L2"]


def test_a_bundle_is_placed_at_one_location_even_when_its_items_are_elsewhere_too() -> None:
    order = shipment("S-1", line("KTP", 1, "L1", bundle="X"), line("KTP2", 1, "L2", bundle="X"))
    decisions = decide([waiting(order)], current={("A", "KTP"): 1, ("B", "KTP2"): 1})

    assert not released(decisions)
