"""What one transaction remembers of what it read, so it need not ask Postgres again.

Memory only: ``PostgresStore`` asks Postgres and tells the cache what it found; the cache
answers later reads of the same thing while that answer cannot have changed:

- the locations, read once per set of held locks: a view read after every lock this
  transaction holds was taken is as good for deciding as a fresh one (``locking`` rule
  2); a new lock may have waited for a location's change, so it drops the view;
- the listings and the waiting demand of the SKUs this transaction holds locked: their
  writers lock the SKU too, so nobody else changes them until commit (a cancel as well:
  it locks the SKUs of the shipment and its remainders before writing, ``cancels.py``;
  a short pick locks the SKUs it moves). The transaction's own writes
  update or drop what is kept: a shipment it puts in the room marks its SKUs waited for,
  one it takes out drops their demand, to be read again;
- what the batch read ahead (``ReadAhead``): each SKU's first waiting-room page, until a
  kept decision touches it, and which shipments and supplies Postgres does not know.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from backorder_worker.domain.model import Candidate, Listing, Location, ReleaseOrder
from backorder_worker.service_layer.ports import ReadAhead

Listings = dict[tuple[str, str | None], Listing]


class ReadCache:
    def __init__(self, locked: set[str]) -> None:
        self._locked = locked  # the SKUs this transaction holds locked (shared, live)
        self.locations: dict[str, Location] | None = None  # None: read them again
        self._listings: dict[str, Listings] = {}  # of locked SKUs
        self._demand: dict[str, bool] = {}  # whether anyone waits, for locked SKUs
        self._ahead = ReadAhead()
        self._first_pages: dict[str, list[Candidate]] = {}
        self.unknown_shipments: set[str] = set()  # read ahead: not in Postgres
        self.unknown_supplies: set[str] = set()

    # -- listings ------------------------------------------------------------------------

    def listings(self, skus: set[str]) -> tuple[dict[str, Listings], set[str]]:
        """The kept listings of these SKUs, by SKU, and the SKUs not kept."""
        # Not ``skus - keys()``: that walks every kept SKU, the asked ones are few.
        kept = self._listings
        unknown = {sku for sku in skus if sku not in kept}
        return {sku: kept[sku] for sku in skus if sku in kept}, unknown

    def remember_listings(self, found: Mapping[str, Listings]) -> None:
        self._listings.update({sku: found[sku] for sku in found.keys() & self._locked})

    def forget_listings(self, sku: str) -> None:
        self._listings.pop(sku, None)

    # -- demand --------------------------------------------------------------------------

    def demand(self, skus: set[str]) -> tuple[set[str], set[str]]:
        """Of these SKUs: those known to be waited for, and those not known either way."""
        # Not ``skus - keys()``: that walks every kept SKU (a batch's), the asked are few.
        demand = self._demand
        unknown = {sku for sku in skus if sku not in demand}
        return {sku for sku in skus if demand.get(sku)}, unknown

    def remember_demand(self, asked: Iterable[str], waited_for: set[str]) -> None:
        for sku in set(asked) & self._locked:  # stable until commit: see the port
            self._demand[sku] = sku in waited_for

    def now_waited_for(self, skus: Iterable[str]) -> None:
        """This transaction made a shipment wait for these SKUs."""
        self._demand.update(dict.fromkeys(skus, True))

    def forget_demand(self, skus: Iterable[str]) -> None:
        """This transaction took a shipment that needs these SKUs out of the room (released,
        unroutable, cancelled): whether another one still waits is Postgres's to say."""
        for sku in skus:
            self._demand.pop(sku, None)

    # -- read ahead ----------------------------------------------------------------------

    def read_ahead(self, ahead: ReadAhead, first_pages: dict[str, list[Candidate]]) -> None:
        self._ahead, self._first_pages = ahead, first_pages

    def first_page(
        self, skus: set[str] | None, order: ReleaseOrder, limit: int
    ) -> list[Candidate] | None:
        """The page read ahead for this one SKU, if it still holds and answers this ask."""
        if skus is None or len(skus) != 1:
            return None
        page = self._first_pages.get(next(iter(skus)))
        if page is None or order is not self._ahead.order or limit > self._ahead.page_size:
            return None
        return page[:limit]

    def pages_changed(self, skus: Iterable[str] | None = None) -> None:
        """Kept decisions touched the pages of these SKUs (None: of any SKU)."""
        if skus is None:
            self._first_pages.clear()
        for sku in set(skus or ()) & self._first_pages.keys():
            del self._first_pages[sku]
