"""The oracle's plain values: a small world of locations, listings, stock and supply.

Deliberately independent of ``backorder_worker.domain.model``: strings instead of enums,
stock and supply as plain mappings. ``from_model`` converts the core's values into these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

BACKORDERABLE = frozenset({"BACKORDER", "PREORDER"})


@dataclass(frozen=True)
class OLocation:
    location_id: str
    active: bool = True
    fulfillment_types: frozenset[str] = frozenset({"STH", "BOPIS"})
    rank: int = 0


@dataclass(frozen=True)
class OListing:
    sku: str
    behaviour: str = "NONE"  # NONE | BACKORDER | PREORDER
    future_inventory_enabled: bool = True
    location_id: str | None = None  # None: SKU-wide


@dataclass(frozen=True)
class OSupply:
    supply_id: str
    location_id: str
    sku: str
    free: int  # units not yet promised
    expected_date: date


@dataclass(frozen=True)
class OLine:
    line_id: str
    sku: str
    quantity: int
    bundle_id: str | None = None


@dataclass(frozen=True)
class OShipment:
    shipment_id: str
    fulfillment_type: str  # STH | BOPIS
    lines: tuple[OLine, ...]
    pickup_location_id: str | None = None
    split_allowed: bool = True


@dataclass(frozen=True)
class OWorld:
    locations: Mapping[str, OLocation]
    listings: Sequence[OListing]
    current: Mapping[tuple[str, str], int]  # (location_id, sku) -> free units
    supplies: Sequence[OSupply] = ()
    today: date = date(2026, 5, 1)
    site_future_enabled: bool = True
    future_date_limit_days: int = 30

    def effective_listing(self, sku: str, location_id: str) -> OListing | None:
        """R1: a per-location listing overrides the SKU-wide one; neither: not listed.

        If a world holds two listings for the same key, the last one wins (as a dict
        built from them would)."""
        own = wide = None
        for listing in self.listings:
            if listing.sku != sku:
                continue
            if listing.location_id == location_id:
                own = listing
            elif listing.location_id is None:
                wide = listing
        return own if own is not None else wide
