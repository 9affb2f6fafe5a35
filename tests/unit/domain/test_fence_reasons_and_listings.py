"""Every reason (R2) and the per-location listing winning everywhere (R1)."""

from __future__ import annotations

from backorder_worker.domain.fences import Fence, StaticFences
from backorder_worker.domain.model import Listing, Location, OutOfStockBehaviour
from backorder_worker.domain.outcomes import WaitState

from .builders import (
    TODAY,
    arriving,
    catalog,
    decide,
    line,
    released,
    shipment,
    supply,
    unroutable,
    waiting,
)


def test_a_location_failing_a_location_fence_still_gets_its_sku_not_listed_reason() -> None:
    cat = catalog(
        locations=["A", Location("B", active=False)],
        backorder=(),
        listings=[Listing("KTP", OutOfStockBehaviour.BACKORDER, location_id="A")],
    )
    reasons = StaticFences(cat).evaluate(shipment("S-1", line("KTP", 1))).reasons

    assert {(r.fence, r.location_id) for r in reasons} == {
        (Fence.LOCATION_INACTIVE, "B"),
        (Fence.SKU_NOT_LISTED, "B"),
    }


def test_a_sku_that_every_eligible_location_sells_as_none_is_not_backordered() -> None:
    cat = catalog(
        listings=[
            Listing("KTP", OutOfStockBehaviour.NONE, location_id="A"),
            Listing("KTP", OutOfStockBehaviour.NONE, location_id="B"),
        ]
    )  # SKU-wide: BACKORDER
    decisions = decide([arriving(shipment("S-1", line("KTP", 1)))], cat)

    assert unroutable(decisions)["S-1"].state is WaitState.UNROUTABLE


def test_a_location_that_backorders_a_sku_lets_it_wait_although_the_sku_wide_listing_does_not() -> (
    None
):
    cat = catalog(
        backorder=(),
        not_backorderable=("KTP",),
        listings=[Listing("KTP", OutOfStockBehaviour.BACKORDER, location_id="A")],
    )
    decisions = decide([arriving(shipment("S-1", line("KTP", 1)))], cat)

    assert unroutable(decisions)["S-1"].state is WaitState.WAITING


def test_a_bopis_shipment_does_not_wait_at_a_store_that_sells_the_sku_as_none() -> None:
    cat = catalog(listings=[Listing("KTP", OutOfStockBehaviour.NONE, location_id="A")])
    decisions = decide([arriving(shipment("S-1", line("KTP", 1), bopis_at="A"))], cat)

    [reason] = unroutable(decisions, WaitState.UNROUTABLE)["S-1"].reasons
    assert "not backorderable" in reason.detail


def test_future_supply_is_not_used_at_a_location_that_sells_the_sku_as_none() -> None:
    cat = catalog(listings=[Listing("KTP", OutOfStockBehaviour.NONE, location_id="A")])
    supplies = [supply("PO-A", "A", "KTP", 1, TODAY), supply("PO-B", "B", "KTP", 1, TODAY)]
    release = released(decide([waiting(shipment("S-1", line("KTP", 1)))], cat, None, supplies))

    assert [s.location_id for s in release["S-1"].shipments] == ["B"]
