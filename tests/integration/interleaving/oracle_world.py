"""The oracle's world read straight from the tables, not through the adapter under test."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from backorder_worker.domain.model import ReleasePolicy
from tests.oracle.world import OLine, OListing, OLocation, OShipment, OSupply, OWorld


def world_from_postgres(
    conn: sa.Connection, today: date, policy: ReleasePolicy | None = None
) -> tuple[OWorld, list[OShipment]]:
    """The catalog, free current stock and supplies' free units, and the waiting shipments
    (split allowed as the shipment or else the site says), as committed in ``conn``'s view."""
    policy = policy or ReleasePolicy()
    rows = lambda query: conn.execute(sa.text(query)).all()  # noqa: E731
    locations = {
        r.location_id: OLocation(r.location_id, r.active, frozenset(r.fulfillment_types), r.rank)
        for r in rows("SELECT location_id, active, fulfillment_types, rank FROM locations")
    }
    listings = tuple(
        OListing(r.sku, r.out_of_stock_behaviour, r.future_inventory_enabled, r.location_id or None)
        for r in rows(
            "SELECT sku, location_id, out_of_stock_behaviour, future_inventory_enabled"
            " FROM listings ORDER BY sku, location_id"
        )
    )
    current = {
        (r.location_id, r.sku): r.free
        for r in rows("SELECT location_id, sku, free FROM stock_positions")
    }
    supplies = tuple(
        OSupply(r.supply_id, r.location_id, r.sku, r.quantity - r.promised, r.expected_date)
        for r in rows(
            "SELECT supply_id, location_id, sku, quantity, promised, expected_date FROM supplies"
        )
    )
    world = OWorld(
        locations,
        listings,
        current,
        supplies,
        today,
        policy.future_inventory_enabled,
        policy.future_date_limit_days,
    )
    waiting = [
        OShipment(
            r.shipment_id,
            r.fulfillment_type,
            tuple(
                OLine(ln["line_id"], ln["sku"], int(ln["quantity"]), ln.get("bundle_id"))
                for ln in r.lines
            ),
            r.pickup_location_id,
            policy.split_allowed if r.split_allowed is None else r.split_allowed,
        )
        for r in rows(
            "SELECT shipment_id, fulfillment_type, pickup_location_id, split_allowed, lines"
            " FROM shipments WHERE state = 'WAITING' ORDER BY shipment_id"
        )
    ]
    return world, waiting
