"""The complete-stock fence's arithmetic: what is short, and the reasons it records (R2).

``short_skus`` is the cheap test a round runs before it plans a route: a SKU of which
the eligible locations hold fewer units (current and usable future) than the shipment
needs cannot be completed, whatever the route.
"""

from __future__ import annotations

from collections.abc import Mapping

from backorder_worker.domain.fences import Eligibility, Fence, Reason
from backorder_worker.domain.inventory import StockPool
from backorder_worker.domain.model import Catalog, ReleasePolicy, Shipment


def available_units(pool: StockPool, sku: str, eligibility: Eligibility) -> int:
    return sum(
        pool.current(loc, sku) + pool.future(loc, sku)
        for loc in pool.locations_with(sku)
        if eligibility.is_eligible(loc, sku)
    )


def short_skus(shipment: Shipment, eligibility: Eligibility, pool: StockPool) -> set[str]:
    need: dict[str, int] = {}
    for line in shipment.lines:
        need[line.sku] = need.get(line.sku, 0) + line.quantity
    return {
        sku
        for sku, units in need.items()
        if pool.total(sku) < units or available_units(pool, sku, eligibility) < units
    }


def missing_skus(shipment: Shipment, missing: Mapping[str, int]) -> set[str]:
    return {line.sku for line in shipment.lines if missing.get(line.line_id, 0) > 0}


def complete_stock_reasons(
    shipment: Shipment,
    eligibility: Eligibility,
    missing: Mapping[str, int],
    pool: StockPool,
    catalog: Catalog,
    policy: ReleasePolicy,
) -> tuple[Reason, ...]:
    """One reason per missing SKU: requested, assignable, and why not when it is there."""
    reasons = []
    for sku in sorted(missing_skus(shipment, missing)):
        requested = sum(line.quantity for line in shipment.lines if line.sku == sku)
        assignable = min(requested, available_units(pool, sku, eligibility))
        detail = f"{requested} requested, {assignable} assignable at eligible locations"
        if eligibility.is_blocked(sku):
            detail += "; no location passes the static fences"
        elif assignable >= requested:
            detail += "; not at one location together with the rest of the shipment"
        if not catalog.backorders_anywhere(sku, eligibility.locations(sku)):
            detail += "; not backorderable"
        reasons.append(
            Reason(
                Fence.COMPLETE_STOCK,
                policy.complete_stock_mode,
                detail,
                sku=sku,
                requested=requested,
                assignable=assignable,
            )
        )
    return tuple(reasons)
