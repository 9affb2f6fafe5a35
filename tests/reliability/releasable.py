"""I3 at quiescence, decided by the independent oracle (tests.oracle), not the worker's planner.

The world at rest is read back from Postgres — locations, listings (SKU-wide and per
location), free current stock, announced supply with what is not yet promised — and every
waiting shipment (lines, bundles, BOPIS pickup, split allowed) is put to the oracle's
exhaustive search: could the free stock complete it, on its own? With `allow_skip` (the
default) a waiting shipment that could is a lost release, whatever waits before it.

"Today" is the worker's: it dates with the UTC wall clock (`bootstrap.utc_now`), so the
checker takes the UTC date when it reads; worlds keep supply dates away from the date
limit so that a day boundary during a run changes nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from backorder_worker.settings import SiteSettings
from tests.e2e.support import World
from tests.oracle.search import completable
from tests.oracle.world import OLine, OListing, OLocation, OShipment, OSupply, OWorld


def world_at_rest(world: World, today: date | None = None) -> OWorld:
    """The oracle's view of the stock and catalog in the world's database."""
    site: SiteSettings = world.settings.site
    locations = {
        loc: OLocation(loc, bool(active), frozenset(types), int(rank))
        for loc, active, types, rank in world.sql(
            "select location_id, active, fulfillment_types, rank from locations"
        )
    }
    listings = [
        OListing(sku, behaviour, bool(future), loc or None)  # '' is the SKU-wide listing
        for sku, loc, behaviour, future in world.sql(
            "select sku, location_id, out_of_stock_behaviour, future_inventory_enabled"
            " from listings"
        )
    ]
    current = {
        (loc, sku): int(free)
        for loc, sku, free in world.sql("select location_id, sku, free from stock_positions")
        if free > 0
    }
    supplies = [
        OSupply(supply_id, loc, sku, max(0, int(quantity) - int(promised)), expected)
        for supply_id, loc, sku, quantity, promised, expected in world.sql(
            "select supply_id, location_id, sku, quantity, promised, expected_date from supplies"
        )
    ]
    return OWorld(
        locations,
        listings,
        current,
        supplies,
        today or datetime.now(UTC).date(),
        site.future_inventory_enabled,
        site.future_date_limit_days,
    )


def waiting_shipments(world: World) -> list[OShipment]:
    default_split = world.settings.site.split_allowed
    return [
        OShipment(
            shipment_id,
            ftype,
            tuple(
                OLine(line["line_id"], line["sku"], int(line["quantity"]), line.get("bundle_id"))
                for line in lines
            ),
            pickup,
            default_split if split is None else bool(split),
        )
        for shipment_id, ftype, pickup, split, lines in world.sql(
            "select shipment_id, fulfillment_type, pickup_location_id, split_allowed, lines"
            " from shipments where state = 'WAITING' order by shipment_id"
        )
    ]


def stranded(world: World, today: date | None = None) -> list[tuple[str, dict[str, int]]]:
    """Waiting shipments the free stock could complete (I3 broken): (id, units per SKU)."""
    at_rest = world_at_rest(world, today)
    waiting = [s for s in waiting_shipments(world) if _enough_in_total(at_rest, s)]
    found = set(completable(at_rest, waiting))
    return [(s.shipment_id, dict(_need(s))) for s in waiting if s.shipment_id in found]


def _need(shipment: OShipment) -> Counter[str]:
    need: Counter[str] = Counter()
    for line in shipment.lines:
        need[line.sku] += line.quantity
    return need


def _enough_in_total(world: OWorld, shipment: OShipment) -> bool:
    """A cheap necessary condition, so that the exhaustive search runs only where it can
    say yes: for every SKU the world holds at least the units asked, counting every free
    unit anywhere (current, and supply whatever its date). Where this is false no plan
    exists, and the oracle would say so too, only slower."""
    held: Counter[str] = Counter()
    for (_, sku), free in world.current.items():
        held[sku] += free
    for supply in world.supplies:
        held[supply.sku] += supply.free
    return all(held[sku] >= units for sku, units in _need(shipment).items())
