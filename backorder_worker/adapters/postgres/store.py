"""``PostgresStore``: the ``Store`` port on one open Postgres transaction.

The store is a façade over the modules beside it. ``PostgresUnitOfWork`` opens the
transaction (``engine.begin()``), so the inbox row, the state change and the outbox rows
of an event commit together or not at all. Isolation is READ COMMITTED; what must not
interleave is serialised by the SKU advisory locks (``lock_skus``) and by guarded updates
(``record``).

A batch's events share one transaction, so the store answers what it can from what the
transaction already knows: the stock, supplies and listings of the SKUs it holds locked
(``locked_stock``: nobody else may change them until commit), and its own kept writes,
which go out together at the next read that needs them or before commit (``flush``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa

from backorder_worker.adapters.event_codec import DEFAULT_SOURCE, encode_decision
from backorder_worker.adapters.postgres import catalog, draws, inbox, outbox, stock
from backorder_worker.adapters.postgres import shipments as rooms
from backorder_worker.adapters.postgres.decision_batch import Timed, write_decisions
from backorder_worker.adapters.postgres.decisions import rows_written
from backorder_worker.adapters.postgres.errors import translate_transient
from backorder_worker.adapters.postgres.locked_stock import LockedStock
from backorder_worker.adapters.postgres.locks import HeldLocks, raise_lock_key, unheld_keys
from backorder_worker.adapters.postgres.waiting_room import (
    first_pages,
    skus_with_waiting,
    waiting_page,
)
from backorder_worker.domain.inventory import StockKey, Supply
from backorder_worker.domain.model import Candidate, Line, Listing, Location, ReleaseOrder
from backorder_worker.domain.outcomes import (
    Decision,
    ShipmentReleased,
    ShipmentUnroutable,
    Trigger,
    WaitState,
)
from backorder_worker.domain.receiving import SupplyCut
from backorder_worker.service_layer.locking import LockNeeds
from backorder_worker.service_layer.ports import (
    Claim,
    DeadLetter,
    OrderKey,
    OutboxRow,
    ReadAhead,
    ShipmentRecord,
    ShipmentState,
    StockPosition,
)
from backorder_worker.settings import TopicsSettings


class PostgresStore:
    def __init__(
        self, connection: sa.Connection, topics: TopicsSettings, source: str = DEFAULT_SOURCE
    ) -> None:
        self._conn, self._topics, self._source = connection, topics, source
        self._locks = HeldLocks()
        self._locations: dict[str, Location] | None = None  # read after the newest lock
        self._locked: set[str] = self._locks.skus  # the SKUs this transaction holds locked
        self._outbox_rows: list[OutboxRow] = []
        self._preclaimed: set[str] = set()  # claimed by claim_events, not yet asked for
        self._demand: dict[str, bool] = {}  # waiting demand of SKUs this transaction locked
        self._stock = LockedStock()  # of the locked SKUs, with the kept stock writes
        self._listings: dict[str, dict[tuple[str, str | None], Listing]] = {}  # locked SKUs
        self._pending_decisions: list[Timed] = []  # written together at the next flush
        self._pending_outbox: list[outbox.Queued] = []
        self._pending_ids: set[str] = set()  # shipment rows the kept decisions write
        self._pending_skus: set[str] = set()  # SKUs of those shipments (the waiting room)
        self._pending_draws = False  # a kept decision draws stock
        self._ahead = ReadAhead()
        self._first_pages: dict[str, list[Candidate]] = {}  # read ahead, until touched
        self._unknown_shipments: set[str] = set()  # read ahead: not in Postgres
        self._unknown_supplies: set[str] = set()

    def read_ahead(self, ahead: ReadAhead) -> None:
        self._ahead = ahead
        if ahead.listings:
            self.listings(ahead.listings)  # kept for the locked ones
        if ahead.first_pages:
            self.flush()
            self._first_pages = first_pages(
                self._conn, ahead.first_pages, ahead.order, ahead.page_size
            )
        if ahead.shipment_ids:
            self._unknown_shipments = set(ahead.shipment_ids) - rooms.existing(
                self._conn, ahead.shipment_ids
            )
        if ahead.supply_ids:
            self._unknown_supplies = set(ahead.supply_ids) - stock.existing_supplies(
                self._conn, ahead.supply_ids
            )

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

    def lock_skus(self, skus: Iterable[str]) -> None:
        self.lock(LockNeeds.of_skus(skus))

    def lock(self, needs: LockNeeds) -> None:
        if self._locks.take(self._conn, needs):
            self._locations = None  # read again: see ``locations``

    def locations(self) -> dict[str, Location]:
        # Read once per set of held locks: a view read after every lock this transaction
        # holds was taken is as good for deciding as a fresh one (``locking`` rule 2); a
        # new lock may have waited for a location's change, so it drops the view.
        if self._locations is None:
            self._locations = catalog.all_locations(self._conn)
        return dict(self._locations)

    def listings(self, skus: Iterable[str]) -> dict[tuple[str, str | None], Listing]:
        # A locked SKU's listings are read once: their writers lock the SKU too.
        wanted = set(skus)
        unknown = wanted - self._listings.keys()
        known = {sku: self._listings[sku] for sku in wanted - unknown}
        if unknown:
            loaded: dict[str, dict[tuple[str, str | None], Listing]] = {s: {} for s in unknown}
            for key, listing in catalog.listings_of(self._conn, unknown).items():
                loaded[key[0]][key] = listing
            self._listings.update({sku: loaded[sku] for sku in unknown & self._locked})
            known.update(loaded)
        return {key: listing for entries in known.values() for key, listing in entries.items()}

    def save_listing(self, listing: Listing) -> None:
        self._listings.pop(listing.sku, None)
        catalog.save_listing(self._conn, listing)

    def save_location(self, location: Location) -> None:
        self._locations = None
        catalog.save_location(self._conn, location)

    def stock_position(self, location_id: str, sku: str) -> StockPosition:
        if self._holds([sku]):
            return self._stock.position(location_id, sku)
        self._flush_stock()
        return stock.stock_position(self._conn, location_id, sku)

    def add_free_stock_later(self, location_id: str, sku: str, units: int) -> None:
        self._stock.add(location_id, sku, units)

    def flush(self) -> None:
        """Writes what this transaction has kept back: the stock changes, the recorded
        decisions and the outbox rows, a few statements for all of them. Every read that
        could see them calls it first, and the unit of work before commit, so nothing ever
        reads around a pending write."""
        if self._stock.has_changes():
            self._stock.write(self._conn)
        if self._pending_decisions:
            kept, self._pending_decisions = self._pending_decisions, []
            self._pending_ids, self._pending_skus, self._pending_draws = set(), set(), False
            write_decisions(self._conn, kept)
            self._stock.decisions_written()
        if self._pending_outbox:
            queued, self._pending_outbox = self._pending_outbox, []
            ids = outbox.queue(self._conn, queued)
            self._outbox_rows += [
                OutboxRow(i, q.topic, q.key, q.value, list(q.headers), q.event_id)
                for i, q in zip(ids, queued, strict=True)
            ]

    def _holds(self, skus: Iterable[str]) -> bool:
        """Whether every one of these SKUs is locked here, their stock then loaded."""
        wanted = set(skus)
        if not wanted <= self._locked:
            return False
        if not self._stock.has(wanted):
            self._stock.load(self._conn, self._locked)  # every locked SKU, in one go
        return True

    def _flush_stock(self) -> None:
        """Before stock is read from Postgres: the kept stock changes, and the decisions
        if any of them draws."""
        if self._pending_draws:
            self.flush()
        elif self._stock.has_changes():
            self._stock.write(self._conn)

    def _flush_if_pending(self, shipment_id: str) -> None:
        """Before one shipment is read or written: only if a kept decision writes its row."""
        if shipment_id in self._pending_ids:
            self.flush()

    def add_free_stock(self, location_id: str, sku: str, units: int) -> int:
        if self._holds([sku]):
            return self._stock.add(location_id, sku, units)
        self._flush_stock()
        return stock.add_free_stock(self._conn, location_id, sku, units)

    def set_free_stock(
        self, location_id: str, sku: str, free: int, level_as_of: datetime | None = None
    ) -> None:
        if self._holds([sku]):
            self._stock.set(location_id, sku, free, level_as_of)
            return
        self._flush_stock()
        stock.set_free_stock(self._conn, location_id, sku, free, level_as_of)

    def assigned_since(self, location_id: str, sku: str, since: datetime) -> int:
        self._flush_stock()
        return stock.assigned_since(self._conn, location_id, sku, since)

    def current_stock(self, skus: Iterable[str]) -> dict[StockKey, int]:
        wanted = set(skus)
        if self._holds(wanted):
            return self._stock.current(wanted)
        self._flush_stock()
        return stock.current_stock(self._conn, wanted)

    def skus_raised_by_nobody(self, skus: Iterable[str]) -> set[str]:
        wanted = set(skus)
        own = wanted & self._locks.raised
        by_key = {raise_lock_key(sku): sku for sku in wanted - own}
        return own | {by_key[k] for k in unheld_keys(self._conn, by_key)}

    def stock_totals(self, skus: Iterable[str]) -> dict[str, int]:
        wanted = set(skus)
        held = {sku for sku in wanted if self._stock.has([sku])}  # loaded: locked here
        totals = self._stock.totals(held)
        rest = wanted - held
        if rest:
            # No flush: kept writes of SKUs not loaded are blind additions only (draws and
            # set positions belong to loaded SKUs), and they are added here from memory.
            totals |= stock.totals(self._conn, rest)
            for sku, units in self._stock.added(rest).items():  # kept blind additions
                totals[sku] += units
        return totals

    def skus_at(self, location_id: str) -> set[str]:
        self._flush_stock()
        return stock.skus_at(self._conn, location_id)

    def supply(self, supply_id: str) -> Supply | None:
        known = self._stock.supply(supply_id)
        if known is not None or supply_id in self._unknown_supplies:
            return known
        # Not kept here, so no kept write changes it: Postgres has it as it is.
        return stock.supply(self._conn, supply_id)

    def save_supply(self, supply: Supply) -> None:
        if self._stock.needs_flush(supply):
            self.flush()
        self._unknown_supplies.discard(supply.supply_id)
        self._stock.save_supply(supply)

    def supplies(self, skus: Iterable[str]) -> list[Supply]:
        wanted = set(skus)
        if self._holds(wanted):
            return self._stock.supplies(wanted)
        self._flush_stock()
        return stock.supplies_with_free_units(self._conn, wanted)

    def promised_from(self, supply: Supply) -> list[str]:
        self.flush()  # kept releases write the ledger
        return draws.promised_from(self._conn, supply)

    def note_supply_cut(self, cut: SupplyCut, trigger: Trigger, now: datetime) -> None:
        detail = {
            "outcome": "supply-cut",
            "supply_id": cut.supply_id,
            "quantity": cut.quantity,
            "promised": cut.promised,
            "shortfall": cut.shortfall,
        }
        for shipment_id in cut.shipment_ids:
            rooms.add_history(self._conn, shipment_id, now, trigger, ShipmentState.FUTURE, detail)

    def shipment(self, shipment_id: str) -> ShipmentRecord | None:
        if shipment_id in self._unknown_shipments:
            return None
        self._flush_if_pending(shipment_id)
        return rooms.get(self._conn, shipment_id)

    def waiting_page(
        self, skus: Iterable[str] | None, order: ReleaseOrder, after: OrderKey | None, limit: int
    ) -> list[Candidate]:
        # Kept decisions that touch these SKUs change the room, so a round's first page
        # writes them first. A later page starts after every shipment the round decided:
        # what it kept since is behind that key (or a split-off remainder, which the
        # round's shrinking pool could not complete), so it reads around nothing.
        wanted = None if skus is None else set(skus)
        if after is None and wanted is not None and len(wanted) == 1:
            ahead = self._first_pages.get(next(iter(wanted)))
            if ahead is not None and order is self._ahead.order and limit <= self._ahead.page_size:
                return ahead[:limit]
        if wanted is None or (after is None and wanted & self._pending_skus):
            self.flush()
        return waiting_page(self._conn, wanted, order, after, limit)

    def waiting_skus(self, skus: Iterable[str]) -> set[str]:
        wanted = set(skus)
        unknown = wanted - self._demand.keys()
        if unknown & self._pending_skus:
            self.flush()
        found = skus_with_waiting(self._conn, unknown) if unknown else set()
        for sku in unknown & self._locked:  # stable until commit: see the port
            self._demand[sku] = sku in found
        return found | {sku for sku in wanted - unknown if self._demand[sku]}

    def _encode(self, decision: Decision, now: datetime) -> outbox.Queued:
        out = encode_decision(decision, now, self._topics, self._source)
        return outbox.Queued(out.topic, out.key, out.value, out.headers, out.event_id)

    def record(self, decision: Decision, now: datetime) -> None:
        out = self._encode(decision, now)  # fails before writes
        self._pending_decisions.append((decision, now))
        written = rows_written(decision)
        self._pending_ids |= written
        self._unknown_shipments -= written
        if isinstance(decision, ShipmentReleased):
            touched = set(decision.parent.skus)
            if decision.split_off is not None:
                touched |= decision.split_off.shipment.skus
            self._pending_draws = True
            self._stock.drawn(decision.draws)
        else:
            touched = set(decision.shipment.skus)
        self._pending_skus |= touched
        for sku in touched & self._first_pages.keys():  # pages read ahead that changed
            del self._first_pages[sku]
        if isinstance(decision, ShipmentUnroutable) and decision.state is WaitState.WAITING:
            self._demand.update(dict.fromkeys(decision.shipment.skus, True))
        self._pending_outbox.append(out)

    def cancel(
        self,
        shipment_id: str,
        trigger: Trigger,
        now: datetime,
        report: ShipmentUnroutable | None = None,
    ) -> ShipmentRecord | None:
        self._first_pages.clear()  # it may leave any of them
        self._flush_if_pending(shipment_id)
        out = None if report is None else self._encode(report, now)  # fails before writes
        before = rooms.cancel(
            self._conn, shipment_id, trigger, now, None if out is None else out.event_id
        )
        if out is not None and before is not None and before.state is not ShipmentState.CANCELLED:
            self._pending_outbox.append(out)
        return before

    def descendants(self, shipment_id: str) -> list[ShipmentRecord]:
        self.flush()  # kept decisions may write split-offs and children
        return rooms.descendants(self._conn, shipment_id)

    def link_remainder(self, remainder_id: str, parent_id: str) -> None:
        self._flush_if_pending(remainder_id)
        rooms.link_remainder(self._conn, remainder_id, parent_id)

    def count_short_pick(self, shipment_id: str) -> int:
        self._flush_if_pending(shipment_id)
        return rooms.count_short_pick(self._conn, shipment_id)

    def replace_lines(self, shipment_id: str, lines: Sequence[Line]) -> None:
        self._flush_if_pending(shipment_id)
        rooms.replace_lines(self._conn, shipment_id, [ln for ln in lines if ln.quantity > 0])

    def dead_letter(self, letter: DeadLetter) -> None:
        self._pending_outbox.append(outbox.dead_letter_record(letter, self._topics.dead_letter))

    def outbox_ids(self) -> list[int]:
        self.flush()
        return [row.id for row in self._outbox_rows]

    def outbox_rows(self) -> list[OutboxRow]:
        self.flush()
        return list(self._outbox_rows)


class PostgresUnitOfWork:
    """Each call opens a transaction: commit when the block ends, rollback on an exception.
    A transient database failure, the commit's included, leaves it as ``TransientError``."""

    def __init__(
        self, engine: sa.Engine, topics: TopicsSettings, source: str = DEFAULT_SOURCE
    ) -> None:
        self._engine, self._topics, self._source = engine, topics, source

    @contextmanager
    def __call__(self) -> Iterator[PostgresStore]:
        with translate_transient(), self._engine.begin() as connection:
            store = PostgresStore(connection, self._topics, self._source)
            yield store
            store.flush()
