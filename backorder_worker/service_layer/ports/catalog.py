"""The catalog port: locations and listings, read for every decision and written by
catalog events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from backorder_worker.domain.model import Listing, Location


class CatalogPort(Protocol):
    def locations(self) -> dict[str, Location]:
        """Every known location."""

    def listings(self, skus: Iterable[str]) -> dict[tuple[str, str | None], Listing]:
        """The listings of these SKUs, SKU-wide (location None) and per location."""

    def save_listing(self, listing: Listing) -> None:
        """Upserts by (sku, location_id)."""

    def save_location(self, location: Location) -> None:
        """Upserts by location_id."""
