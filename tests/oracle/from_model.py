"""Converters from the core's value types to the oracle's (plain field copying).

Only value types are read (``domain.model``, and ``inventory.Supply`` / ``Draw``);
nothing that decides (routing, fences, stock check, release) is imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from backorder_worker.domain.inventory import Draw, Supply
from backorder_worker.domain.model import Catalog, ReleasePolicy, Shipment
from tests.oracle.search import ODraw
from tests.oracle.world import OLine, OListing, OLocation, OShipment, OSupply, OWorld


def world_from_model(
    catalog: Catalog,
    current: Mapping[tuple[str, str], int],
    supplies: Iterable[Supply] = (),
    policy: ReleasePolicy | None = None,
    today: date | datetime = date(2026, 5, 1),
) -> OWorld:
    """The oracle's world for a catalog, free current stock, supplies and site settings."""
    policy = policy or ReleasePolicy()
    return OWorld(
        locations={
            loc.location_id: OLocation(
                loc.location_id,
                loc.active,
                frozenset(ft.value for ft in loc.fulfillment_types),
                loc.rank,
            )
            for loc in catalog.locations.values()
        },
        listings=tuple(
            OListing(
                listing.sku,
                listing.out_of_stock_behaviour.value,
                listing.future_inventory_enabled,
                location_id,
            )
            for (_, location_id), listing in catalog.listings.items()
        ),
        current=dict(current),
        supplies=tuple(
            OSupply(s.supply_id, s.location_id, s.sku, s.free, s.expected_date) for s in supplies
        ),
        today=today.date() if isinstance(today, datetime) else today,
        site_future_enabled=policy.future_inventory_enabled,
        future_date_limit_days=policy.future_date_limit_days,
    )


def shipment_from_model(shipment: Shipment, policy: ReleasePolicy | None = None) -> OShipment:
    """The oracle's shipment; split allowed as the shipment or else the site setting says."""
    policy = policy or ReleasePolicy()
    return OShipment(
        shipment.shipment_id,
        shipment.fulfillment_type.value,
        tuple(OLine(ln.line_id, ln.sku, ln.quantity, ln.bundle_id) for ln in shipment.lines),
        shipment.pickup_location_id,
        policy.allows_split(shipment),
    )


def draws_from_model(draws: Iterable[Draw]) -> list[ODraw]:
    """The oracle's draws for the core's draws (pass ``a.draw`` for each assignment)."""
    return [ODraw(d.location_id, d.sku, d.quantity, d.expected_date) for d in draws]


def assignments_from_model(pairs: Iterable[tuple[str, Draw]]) -> list[tuple[str, ODraw]]:
    """(line_id, draw) pairs for ``check.plan_problems``: pass ``(a.line_id, a.draw)``."""
    return [(line_id, draws_from_model([draw])[0]) for line_id, draw in pairs]
