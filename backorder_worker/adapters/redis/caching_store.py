"""`CachingStore`: a `Store` whose catalog reads go through a `CatalogCache`.

It wraps any store (one transaction) and knows nothing of Postgres. The catalog reads come
from the cache, everything else goes to the wrapped transaction as it is, and catalog
writes are remembered so that the cache is invalidated across replicas once they commit
(`cached_unit_of_work` does that around a unit of work).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import datetime

from backorder_worker.adapters.redis.catalog_cache import CatalogCache, ListingsBySku
from backorder_worker.domain.inventory import StockKey, Supply
from backorder_worker.domain.model import Candidate, Line, Listing, Location, ReleaseOrder
from backorder_worker.domain.outcomes import Decision, ShipmentUnroutable, Trigger
from backorder_worker.domain.receiving import SupplyCut
from backorder_worker.service_layer.ports import (
    Claim,
    DeadLetter,
    OrderKey,
    OutboxRow,
    ReadAhead,
    ShipmentRecord,
    StockPosition,
    Store,
    UnitOfWork,
)


class CachingStore:
    """A `Store` that serves `locations()` and `listings()` from a `CatalogCache`.

    Every other method goes to the wrapped store as it is. Catalog writes pass through too
    and set `catalog_changed`: the caller then calls `cache.invalidate()` once the
    transaction has committed (`cached_unit_of_work` does). From a write on, this store
    reads the catalog from the wrapped transaction, which sees its own uncommitted write,
    and never puts that into the cache: a rollback must not leave it behind.

    `cached_reads = False` reads the catalog from the wrapped store. It is an attribute, so
    a batch in one transaction can switch it per event: turn it off for an event that reads
    a catalog entry to write it back (`listing.updated` keeps the existing
    `future_inventory_enabled`), where a stale cached entry would undo another replica's
    committed change.
    """

    def __init__(self, store: Store, cache: CatalogCache, *, cached_reads: bool = True) -> None:
        self.store = store
        self.cache = cache
        self.cached_reads = cached_reads
        self.catalog_changed = False

    def locations(self) -> dict[str, Location]:
        if self.catalog_changed or not self.cached_reads:
            return self.store.locations()
        return self.cache.locations(self.store.locations)

    def listings(self, skus: Iterable[str]) -> ListingsBySku:
        if self.catalog_changed or not self.cached_reads:
            return self.store.listings(skus)
        return self.cache.listings(skus, self.store.listings)

    def save_listing(self, listing: Listing) -> None:
        self.store.save_listing(listing)
        self._changed()

    def save_location(self, location: Location) -> None:
        self.store.save_location(location)
        self._changed()

    def _changed(self) -> None:
        self.catalog_changed = True
        self.cache.clear_local()  # even before commit: this process stops serving the old entry

    # Everything else is the wrapped transaction's business.

    def read_ahead(self, ahead: ReadAhead) -> None:
        # Listings through the cache, so the wrapped store is asked only for what it lacks.
        self.listings(ahead.listings)
        self.store.read_ahead(replace(ahead, listings=frozenset()))

    def claim_event(self, event_id: str, event_type: str, digest: str) -> Claim:
        return self.store.claim_event(event_id, event_type, digest)

    def claim_events(self, claims: Sequence[tuple[str, str, str]]) -> None:
        self.store.claim_events(claims)

    def release_claim(self, event_id: str) -> None:
        self.store.release_claim(event_id)

    def add_free_stock(self, location_id: str, sku: str, units: int) -> int:
        return self.store.add_free_stock(location_id, sku, units)

    def add_free_stock_later(self, location_id: str, sku: str, units: int) -> None:
        self.store.add_free_stock_later(location_id, sku, units)

    def lock_skus(self, skus: Iterable[str]) -> None:
        self.store.lock_skus(skus)

    def stock_position(self, location_id: str, sku: str) -> StockPosition:
        return self.store.stock_position(location_id, sku)

    def set_free_stock(
        self, location_id: str, sku: str, free: int, level_as_of: datetime | None = None
    ) -> None:
        self.store.set_free_stock(location_id, sku, free, level_as_of)

    def assigned_since(self, location_id: str, sku: str, since: datetime) -> int:
        return self.store.assigned_since(location_id, sku, since)

    def current_stock(self, skus: Iterable[str]) -> dict[StockKey, int]:
        return self.store.current_stock(skus)

    def stock_totals(self, skus: Iterable[str]) -> dict[str, int]:
        return self.store.stock_totals(skus)

    def skus_at(self, location_id: str) -> set[str]:
        return self.store.skus_at(location_id)

    def supply(self, supply_id: str) -> Supply | None:
        return self.store.supply(supply_id)

    def save_supply(self, supply: Supply) -> None:
        self.store.save_supply(supply)

    def supplies(self, skus: Iterable[str]) -> list[Supply]:
        return self.store.supplies(skus)

    def promised_from(self, supply: Supply) -> list[str]:
        return self.store.promised_from(supply)

    def note_supply_cut(self, cut: SupplyCut, trigger: Trigger, now: datetime) -> None:
        self.store.note_supply_cut(cut, trigger, now)

    def shipment(self, shipment_id: str) -> ShipmentRecord | None:
        return self.store.shipment(shipment_id)

    def waiting_page(
        self,
        skus: Iterable[str] | None,
        order: ReleaseOrder,
        after: OrderKey | None,
        limit: int,
    ) -> list[Candidate]:
        return self.store.waiting_page(skus, order, after, limit)

    def waiting_skus(self, skus: Iterable[str]) -> set[str]:
        return self.store.waiting_skus(skus)

    def record(self, decision: Decision, now: datetime) -> None:
        self.store.record(decision, now)

    def cancel(
        self,
        shipment_id: str,
        trigger: Trigger,
        now: datetime,
        report: ShipmentUnroutable | None = None,
    ) -> ShipmentRecord | None:
        return self.store.cancel(shipment_id, trigger, now, report)

    def descendants(self, shipment_id: str) -> list[ShipmentRecord]:
        return self.store.descendants(shipment_id)

    def link_remainder(self, remainder_id: str, parent_id: str) -> None:
        self.store.link_remainder(remainder_id, parent_id)

    def count_short_pick(self, shipment_id: str) -> int:
        return self.store.count_short_pick(shipment_id)

    def replace_lines(self, shipment_id: str, lines: Sequence[Line]) -> None:
        self.store.replace_lines(shipment_id, lines)

    def dead_letter(self, letter: DeadLetter) -> None:
        self.store.dead_letter(letter)

    def outbox_ids(self) -> list[int]:
        return self.store.outbox_ids()

    def outbox_rows(self) -> list[OutboxRow]:
        return self.store.outbox_rows()


def cached_unit_of_work(
    uow: UnitOfWork, cache: CatalogCache, *, cached_reads: bool = True
) -> Callable[[], AbstractContextManager[CachingStore]]:
    """`uow` with its stores wrapped in `CachingStore`, invalidating after a catalog commit.

    The result is a `UnitOfWork`. A transaction retried after a transient failure gets a
    fresh `CachingStore`, so a write in a failed attempt is forgotten with the attempt.
    """

    @contextmanager
    def transaction() -> Iterator[CachingStore]:
        with uow() as store:
            caching = CachingStore(store, cache, cached_reads=cached_reads)
            yield caching
        if caching.catalog_changed:  # reached only when the block committed
            cache.invalidate()

    return transaction


_CONFORMS: type[Store] = CachingStore  # mypy: a method added to the Store port belongs here too
