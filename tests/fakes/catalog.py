"""The fake ``CatalogPort``: locations and listings in the state."""

from __future__ import annotations

from collections.abc import Iterable

from backorder_worker.domain.model import Listing, Location
from tests.fakes.state import FakeArea


class FakeCatalog(FakeArea):
    def locations(self) -> dict[str, Location]:
        return dict(self.state.locations)

    def listings(self, skus: Iterable[str]) -> dict[tuple[str, str | None], Listing]:
        wanted = set(skus)
        return {k: v for k, v in self.state.listings.items() if k[0] in wanted}

    def save_listing(self, listing: Listing) -> None:
        self.state.listings[(listing.sku, listing.location_id)] = listing

    def save_location(self, location: Location) -> None:
        self.state.locations[location.location_id] = location
