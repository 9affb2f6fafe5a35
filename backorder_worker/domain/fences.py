"""The static fences (R2) and the reasons every fence records.

Static fences decide which candidate locations may serve each SKU of a shipment. Every
fence is evaluated for every candidate location, so that the reasons list *all* filters,
not just the first one that bit. The reactive complete-stock fence is judged later, by the
release round, because it depends on stock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from operator import attrgetter

from backorder_worker.domain.model import Catalog, FenceMode, FulfillmentType, Shipment


class Fence(StrEnum):
    LOCATION_INACTIVE = "location-inactive"
    FULFILLMENT_TYPE = "fulfillment-type"
    BOPIS_PICKUP_LOCATION = "bopis-pickup-location"
    SKU_NOT_LISTED = "sku-not-listed"
    COMPLETE_STOCK = "complete-stock"
    # Not a routing fence: why a remainder left the line when its parent was cancelled (R11).
    PARENT_CANCELLED = "parent-cancelled"


@dataclass(frozen=True, slots=True)
class Reason:
    fence: Fence
    mode: FenceMode
    detail: str
    sku: str | None = None
    location_id: str | None = None
    requested: int | None = None
    assignable: int | None = None


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Per SKU, the locations that pass every static fence, most preferred first."""

    locations_by_sku: Mapping[str, tuple[str, ...]]
    sets_by_sku: Mapping[str, frozenset[str]]
    preference: Mapping[str, int]  # location_id -> position in (rank, id) order
    reasons: tuple[Reason, ...]

    def locations(self, sku: str) -> tuple[str, ...]:
        return self.locations_by_sku.get(sku, ())

    def is_eligible(self, location_id: str, sku: str) -> bool:
        return location_id in self.sets_by_sku.get(sku, ())

    def is_blocked(self, sku: str) -> bool:
        return not self.locations_by_sku.get(sku)


# (candidate locations, those passing every location fence, the location fences' reasons)
_Open = tuple[list[str], frozenset[str], list[Reason]]
_Eligible = tuple[tuple[str, ...], frozenset[str], list[Reason]]


class StaticFences:
    """Evaluates the static fences, memoised per (fulfilment type, pickup location, SKU)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        ordered = sorted(catalog.locations.values(), key=attrgetter("rank", "location_id"))
        self._order = [loc.location_id for loc in ordered]
        self._preference = dict(zip(self._order, range(len(self._order)), strict=True))
        self._by_location: dict[tuple[FulfillmentType, str | None], _Open] = {}
        self._by_sku: dict[tuple[FulfillmentType, str | None, str], _Eligible] = {}

    def evaluate(self, shipment: Shipment) -> Eligibility:
        ft, pickup = shipment.fulfillment_type, shipment.pickup_location_id
        candidates, open_locations, reasons = self._location_fences(ft, pickup)
        all_reasons = list(reasons)
        by_sku: dict[str, tuple[str, ...]] = {}
        sets: dict[str, frozenset[str]] = {}
        for sku in sorted(shipment.skus):
            key = (ft, pickup, sku)
            if key not in self._by_sku:
                self._by_sku[key] = self._listing_fence(sku, candidates, open_locations)
            by_sku[sku], sets[sku], sku_reasons = self._by_sku[key]
            all_reasons.extend(sku_reasons)
        return Eligibility(by_sku, sets, self._preference, tuple(all_reasons))

    def _location_fences(self, ft: FulfillmentType, pickup: str | None) -> _Open:
        key = (ft, pickup)
        if key in self._by_location:
            return self._by_location[key]
        candidates = self._order
        reasons: list[Reason] = []
        if ft is FulfillmentType.BOPIS:
            candidates = [pickup] if pickup in self._preference else []
            if not candidates:
                reasons.append(
                    _static(
                        Fence.BOPIS_PICKUP_LOCATION,
                        f"pickup location {pickup!r} is not a known location",
                        location_id=pickup,
                    )
                )
        open_locations: list[str] = []
        locations = self._catalog.locations
        for location_id in candidates:
            location = locations[location_id]
            if location.active and ft in location.fulfillment_types:
                open_locations.append(location_id)  # neither fence below closes it
                continue
            if not location.active:
                reasons.append(
                    _static(
                        Fence.LOCATION_INACTIVE, "location is inactive", location_id=location_id
                    )
                )
            if ft not in location.fulfillment_types:
                reasons.append(
                    _static(
                        Fence.FULFILLMENT_TYPE,
                        f"location does not serve {ft.value}",
                        location_id=location_id,
                    )
                )
        self._by_location[key] = (candidates, frozenset(open_locations), reasons)
        return self._by_location[key]

    def _listing_fence(
        self, sku: str, candidates: list[str], open_locations: frozenset[str]
    ) -> _Eligible:
        """Checked at every candidate, also one a location fence closed (R2: all reasons)."""
        listings = self._catalog.listings
        # ``Catalog.listing`` inlined: a SKU-wide listing holds at every candidate, so then
        # no candidate is unlisted (the same answer, without 50 lookups of each kind).
        if listings.get((sku, None)) is not None:
            eligible = [location_id for location_id in candidates if location_id in open_locations]
            return tuple(eligible), frozenset(eligible), []
        eligible = []
        reasons: list[Reason] = []
        for location_id in candidates:
            if listings.get((sku, location_id)) is None:  # nor a SKU-wide one: not listed
                reasons.append(
                    _static(
                        Fence.SKU_NOT_LISTED,
                        f"{sku} is not listed at {location_id}",
                        sku=sku,
                        location_id=location_id,
                    )
                )
            elif location_id in open_locations:
                eligible.append(location_id)
        return tuple(eligible), frozenset(eligible), reasons


def _static(
    fence: Fence, detail: str, *, sku: str | None = None, location_id: str | None = None
) -> Reason:
    return Reason(fence, FenceMode.STATIC, detail, sku=sku, location_id=location_id)
