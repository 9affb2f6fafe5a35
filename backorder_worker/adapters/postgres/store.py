"""``PostgresStore``: the ``Store`` port on one open Postgres transaction.

The store is a façade: each port method goes to the module beside it that runs its
statements, after two questions. Can it be answered from what this transaction already
knows? (``ReadCache``: the catalog, demand and pages it read; ``LockedStock``: the stock of
the SKUs it holds locked.) Could Postgres's answer miss a write this transaction kept
back? (``WriteBehind``: then it flushes first.) Output events are encoded by the
``EncodeDecision`` it is given (``bootstrap`` gives it the wire codec): the store knows
rows, not the wire format.

``PostgresUnitOfWork`` opens the transaction (``engine.begin()``), so the inbox row, the
state change and the outbox rows of an event commit together or not at all. Isolation is
READ COMMITTED; what must not interleave is serialised by the advisory locks (``lock``)
and by guarded updates (``record``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa

from backorder_worker.adapters.postgres import catalog, inbox, outbox, supplies
from backorder_worker.adapters.postgres import shipments as rooms
from backorder_worker.adapters.postgres.errors import translate_transient
from backorder_worker.adapters.postgres.locked_stock import LockedStock
from backorder_worker.adapters.postgres.locks import HeldLocks, raise_lock_key, unheld_keys
from backorder_worker.adapters.postgres.read_cache import Listings, ReadCache
from backorder_worker.adapters.postgres.store_stock import PostgresStock
from backorder_worker.adapters.postgres.waiting_room import first_pages, waiting_page
from backorder_worker.adapters.postgres.write_behind import WriteBehind
from backorder_worker.domain.model import Candidate, Line, Listing, Location, ReleaseOrder
from backorder_worker.domain.outcomes import (
    Decision,
    ShipmentReleased,
    ShipmentUnroutable,
    Trigger,
    WaitState,
)
from backorder_worker.service_layer.locking import LockNeeds
from backorder_worker.service_layer.ports import (
    Claim,
    DeadLetter,
    EncodeDecision,
    OrderKey,
    OutboxRow,
    ReadAhead,
    ShipmentRecord,
    ShipmentState,
)
from backorder_worker.settings import TopicsSettings


class PostgresStore(PostgresStock):
    def __init__(self, conn: sa.Connection, topics: TopicsSettings, encode: EncodeDecision) -> None:
        self._conn, self._encode_decision = conn, encode
        self._dead_letter_topic = topics.dead_letter
        self._locks = HeldLocks()
        self._locked: set[str] = self._locks.skus  # the SKUs this transaction holds locked
        self._preclaimed: set[str] = set()  # claimed by claim_events, not yet asked for
        self._stock = LockedStock()  # of the locked SKUs, with the kept stock writes
        self._reads = ReadCache(self._locked)
        self._writes = WriteBehind(conn, self._stock)

    # -- inbox ---------------------------------------------------------------------------

    def claim_events(self, claims: Sequence[tuple[str, str, str]]) -> None:
        self._preclaimed |= inbox.claim_all(self._conn, claims)

    def release_claim(self, event_id: str) -> None:
        self._preclaimed.discard(event_id)
        inbox.release(self._conn, event_id)

    def claim_event(self, event_id: str, event_type: str, digest: str) -> Claim:
        if event_id in self._preclaimed:
            self._preclaimed.discard(event_id)
            return Claim.NEW
        return inbox.claim(self._conn, event_id, event_type, digest)

    # -- locks ---------------------------------------------------------------------------

    def lock_skus(self, skus: Iterable[str]) -> None:
        self.lock(LockNeeds.of_skus(skus))

    def lock(self, needs: LockNeeds) -> None:
        if self._locks.take(self._conn, needs):
            self._reads.locations = None  # read again: see ``read_cache``

    def skus_raised_by_nobody(self, skus: Iterable[str]) -> set[str]:
        wanted = set(skus)
        own = wanted & self._locks.raised
        by_key = {raise_lock_key(sku): sku for sku in wanted - own}
        return own | {by_key[k] for k in unheld_keys(self._conn, by_key)}

    # -- read ahead, catalog -------------------------------------------------------------

    def read_ahead(self, ahead: ReadAhead) -> None:
        if ahead.listings:
            self.listings(ahead.listings)  # kept for the locked ones
        pages = {}
        if ahead.first_pages:
            self.flush()
            pages = first_pages(self._conn, ahead.first_pages, ahead.order, ahead.page_size)
        self._reads.read_ahead(ahead, pages)
        if ahead.shipment_ids:
            known = rooms.existing(self._conn, ahead.shipment_ids)
            self._reads.unknown_shipments = set(ahead.shipment_ids) - known
        if ahead.supply_ids:
            known = supplies.existing_supplies(self._conn, ahead.supply_ids)
            self._reads.unknown_supplies = set(ahead.supply_ids) - known

    def locations(self) -> dict[str, Location]:
        if self._reads.locations is None:
            self._reads.locations = catalog.all_locations(self._conn)
        return dict(self._reads.locations)

    def listings(self, skus: Iterable[str]) -> dict[tuple[str, str | None], Listing]:
        known, unknown = self._reads.listings(set(skus))
        if unknown:
            loaded: dict[str, Listings] = {sku: {} for sku in unknown}
            for key, listing in catalog.listings_of(self._conn, unknown).items():
                loaded[key[0]][key] = listing
            self._reads.remember_listings(loaded)
            known.update(loaded)
        return {key: listing for entries in known.values() for key, listing in entries.items()}

    def save_listing(self, listing: Listing) -> None:
        self._reads.forget_listings(listing.sku)
        catalog.save_listing(self._conn, listing)

    def save_location(self, location: Location) -> None:
        self._reads.locations = None
        catalog.save_location(self._conn, location)

    # -- waiting room --------------------------------------------------------------------

    def waiting_page(
        self, skus: Iterable[str] | None, order: ReleaseOrder, after: OrderKey | None, limit: int
    ) -> list[Candidate]:
        # Kept decisions that touch these SKUs change the room, so a first page writes them
        # first. A later page does only when a kept waiting report puts a shipment in the
        # room strictly after its key (an intake recorded since, a split-off), or when the
        # page it read holds a shipment a kept decision writes (released or reported since:
        # then it reads again). A round pages after every shipment it decided, so its own
        # releases and re-reports are behind the key: its pages read around them.
        wanted = None if skus is None else set(skus)
        if after is None and (ahead := self._reads.first_page(wanted, order, limit)) is not None:
            return ahead
        if (
            wanted is None
            or (after is None and wanted & self._writes.skus)
            or (after is not None and self._writes.enters_after(wanted, order, after))
        ):
            self.flush()
        page = waiting_page(self._conn, wanted, order, after, limit)
        if any(c.shipment.shipment_id in self._writes.shipment_ids for c in page):
            self.flush()
            page = waiting_page(self._conn, wanted, order, after, limit)
        return page

    def waiting_skus(self, skus: Iterable[str]) -> set[str]:
        known, unknown = self._reads.demand(set(skus))
        if not unknown:  # most asks in a batch: its SKUs' demand was read up front
            return known
        if unknown & self._writes.skus:
            self.flush()
        # The listings of the SKUs waited for come along (the rounds read them next),
        # kept as ``listings`` keeps them: only those of SKUs locked here.
        listed = catalog.waited_for_with_listings(self._conn, unknown)
        self._reads.remember_listings(listed)
        found = set(listed)
        self._reads.remember_demand(unknown, found)
        return known | found

    # -- shipments -----------------------------------------------------------------------

    def shipment(self, shipment_id: str) -> ShipmentRecord | None:
        if shipment_id in self._reads.unknown_shipments:
            return None
        self._writes.flush_for(shipment_id)
        return rooms.get(self._conn, shipment_id)

    def record(self, decision: Decision, now: datetime) -> None:
        out = self._encode(decision, now)  # fails before writes
        touched = self._writes.keep_decision(decision, now, out)
        self._reads.unknown_shipments -= self._writes.shipment_ids
        self._reads.pages_changed(touched)
        if isinstance(decision, ShipmentReleased):
            if decision.backordered_at is not None:  # it waited: it leaves the room
                self._reads.forget_demand(decision.parent.skus)
        elif decision.state is WaitState.WAITING:
            self._reads.now_waited_for(decision.shipment.skus)
        else:
            self._reads.forget_demand(decision.shipment.skus)

    def cancel(
        self,
        shipment_id: str,
        trigger: Trigger,
        now: datetime,
        report: ShipmentUnroutable | None = None,
    ) -> ShipmentRecord | None:
        self._reads.pages_changed()  # it may leave any of them
        self._writes.flush_for(shipment_id)
        out = None if report is None else self._encode(report, now)  # fails before writes
        before = rooms.cancel(
            self._conn, shipment_id, trigger, now, None if out is None else out.event_id
        )
        if out is not None and before is not None and before.state is not ShipmentState.CANCELLED:
            self._writes.keep_output(out)
        if before is not None and before.state is ShipmentState.WAITING:
            self._reads.forget_demand(before.shipment.skus)
        return before

    def descendants(self, shipment_id: str) -> list[ShipmentRecord]:
        self.flush()  # kept decisions may write split-offs and children
        return rooms.descendants(self._conn, shipment_id)

    def link_remainder(self, remainder_id: str, parent_id: str) -> None:
        self._writes.flush_for(remainder_id)
        rooms.link_remainder(self._conn, remainder_id, parent_id)

    def count_short_pick(self, shipment_id: str) -> int:
        self._writes.flush_for(shipment_id)
        return rooms.count_short_pick(self._conn, shipment_id)

    def replace_lines(self, shipment_id: str, lines: Sequence[Line]) -> None:
        self._writes.flush_for(shipment_id)
        rooms.replace_lines(self._conn, shipment_id, [ln for ln in lines if ln.quantity > 0])

    # -- outbox --------------------------------------------------------------------------

    def _encode(self, decision: Decision, now: datetime) -> outbox.Queued:
        out = self._encode_decision(decision, now)
        return outbox.Queued(out.topic, out.key, out.value, out.headers, out.event_id)

    def dead_letter(self, letter: DeadLetter) -> None:
        self._writes.keep_output(outbox.dead_letter_record(letter, self._dead_letter_topic))

    def outbox_ids(self) -> list[int]:
        self.flush()
        return [row.id for row in self._writes.written]

    def outbox_rows(self) -> list[OutboxRow]:
        self.flush()
        return list(self._writes.written)

    def flush(self) -> None:
        """Writes what this transaction has kept back (``WriteBehind``). Every read that
        could see it calls it first, and the unit of work before commit, so nothing ever
        reads around a pending write."""
        self._writes.flush()


class PostgresUnitOfWork:
    """Each call opens a transaction: commit when the block ends, rollback on an exception.
    ``encode`` turns a decision into its output record (``bootstrap`` builds it). A
    transient database failure, the commit's included, leaves it as ``TransientError``."""

    def __init__(
        self, engine: sa.Engine, topics: TopicsSettings, *, encode: EncodeDecision
    ) -> None:
        self._engine, self._topics, self._encode = engine, topics, encode

    @contextmanager
    def __call__(self) -> Iterator[PostgresStore]:
        with translate_transient(), self._engine.begin() as connection:
            store = PostgresStore(connection, self._topics, self._encode)
            yield store
            store.flush()
