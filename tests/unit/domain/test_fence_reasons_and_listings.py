"""Every reason (R2) and the per-location listing winning everywhere (R1)."""

from __future__ import annotations

from backorder_worker.domain.fences import Fence, StaticFences
from backorder_worker.domain.model import Listing, Location, OutOfStockBehaviour

from .builders import catalog, line, shipment


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
