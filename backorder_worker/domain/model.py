"""The nouns of the domain: shipments, the catalog and the release policy.

Everything here is a frozen value. The decision functions in this package take these
values (and ``now``) and return decisions; they never read a clock, the environment or
a database. Wire formats and table rows are translated into these types at the edges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class FulfillmentType(StrEnum):
    STH = "STH"
    BOPIS = "BOPIS"


class OutOfStockBehaviour(StrEnum):
    NONE = "NONE"
    BACKORDER = "BACKORDER"
    PREORDER = "PREORDER"


class PartialRelease(StrEnum):
    NONE = "none"
    LINE = "line"
    QUANTITY = "quantity"


class ReleaseOrder(StrEnum):
    FIFO = "fifo"
    PRIORITY = "priority"


class FenceMode(StrEnum):
    REACTIVE = "reactive"
    STATIC = "static"


class Origin(StrEnum):
    """Why a shipment is up for a decision."""

    INTAKE = "INTAKE"  # a new shipment, or the remainder of a short pick (R8)
    WAITING = "WAITING"  # a shipment already in the waiting room


@dataclass(frozen=True, slots=True)
class Line:
    line_id: str
    sku: str
    quantity: int
    bundle_id: str | None = None


@dataclass(frozen=True, slots=True)
class Shipment:
    shipment_id: str
    order_id: str
    fulfillment_type: FulfillmentType
    lines: tuple[Line, ...]
    pickup_location_id: str | None = None
    priority: int = 0
    split_allowed: bool | None = None  # None: the site setting decides
    backorder_days: int | None = None  # None: the site setting decides

    @property
    def skus(self) -> frozenset[str]:
        return frozenset(line.sku for line in self.lines)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A shipment up for a decision, with the time that orders it in the waiting room (R7)."""

    shipment: Shipment
    entered_at: datetime
    origin: Origin
    backordered_at: datetime | None = None  # when it first entered backorder; None at intake


@dataclass(frozen=True, slots=True)
class Location:
    location_id: str
    active: bool = True
    fulfillment_types: frozenset[FulfillmentType] = frozenset(FulfillmentType)
    rank: int = 0


@dataclass(frozen=True, slots=True)
class Listing:
    sku: str
    out_of_stock_behaviour: OutOfStockBehaviour = OutOfStockBehaviour.NONE
    future_inventory_enabled: bool = True
    location_id: str | None = None  # None: the listing holds at every location

    @property
    def is_backorderable(self) -> bool:
        return self.out_of_stock_behaviour is not OutOfStockBehaviour.NONE


@dataclass(frozen=True)
class Catalog:
    """Locations and listings; a per-location listing overrides the SKU-wide one."""

    locations: Mapping[str, Location] = field(default_factory=dict)
    listings: Mapping[tuple[str, str | None], Listing] = field(default_factory=dict)

    def listing(self, sku: str, location_id: str | None) -> Listing | None:
        if location_id is not None:
            own = self.listings.get((sku, location_id))
            if own is not None:
                return own
        return self.listings.get((sku, None))

    def is_backorderable(self, sku: str, location_id: str | None) -> bool:
        """Whether the SKU may be backordered at the location: its own listing decides,
        else the SKU-wide one (R1: the more specific listing wins everywhere)."""
        listing = self.listing(sku, location_id)
        return listing is not None and listing.is_backorderable

    def backorders_anywhere(self, sku: str, location_ids: Iterable[str]) -> bool:
        """Whether any of these locations (those that may serve the SKU) backorders it:
        a shipment may wait for it there. Where every one sells it as NONE, it may not."""
        return any(self.is_backorderable(sku, location_id) for location_id in location_ids)


@dataclass(frozen=True, slots=True)
class ReleasePolicy:
    """The site settings and the complete-stock fence mode, as the decisions need them."""

    future_inventory_enabled: bool = True
    future_date_limit_days: int = 30
    default_backorder_days: int = 14
    void_and_reauth_on_release: bool = False
    split_allowed: bool = True
    partial_release: PartialRelease = PartialRelease.NONE
    release_order: ReleaseOrder = ReleaseOrder.FIFO
    allow_skip: bool = True
    complete_stock_mode: FenceMode = FenceMode.REACTIVE

    def allows_split(self, shipment: Shipment) -> bool:
        if shipment.split_allowed is not None:
            return shipment.split_allowed
        return self.split_allowed
