"""The ports the handlers use. Adapters implement them; a contract suite checks both the
in-memory fake and the Postgres adapter against the same expectations.

A ``Store`` is one open transaction. Everything a handler writes through it — state,
the inbox row, the outbox rows — commits or rolls back together: that is what makes an
event's effect atomic and a redelivered event harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from backorder_worker.domain.inventory import StockKey, Supply
from backorder_worker.domain.model import (
    Candidate,
    Line,
    Listing,
    Location,
    ReleaseOrder,
    Shipment,
)
from backorder_worker.domain.outcomes import Decision, ShipmentUnroutable, Trigger
from backorder_worker.domain.receiving import SupplyCut
from backorder_worker.service_layer.errors import TransientError
from backorder_worker.service_layer.locking import LockNeeds


class Claim(StrEnum):
    NEW = "NEW"  # first time: apply it
    DUPLICATE = "DUPLICATE"  # same id, same content: already applied, acknowledge
    CONFLICT = "CONFLICT"  # same id, other content: a producer bug, dead-letter it


class ShipmentState(StrEnum):
    WAITING = "WAITING"
    UNROUTABLE = "UNROUTABLE"
    READY = "READY"
    FUTURE = "FUTURE"
    REASSIGNED = "REASSIGNED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class ShipmentRecord:
    shipment: Shipment
    state: ShipmentState
    entered_at: datetime | None  # orders the waiting room (R7); None if it never waited
    backordered_at: datetime | None
    location_id: str | None = None  # READY/FUTURE shipments: where they were assigned
    expected_date: date | None = None  # FUTURE shipments
    parent_id: str | None = None
    short_picks: int = 0  # short picks reported so far (numbers the remainders)


@dataclass(frozen=True, slots=True)
class StockPosition:
    location_id: str
    sku: str
    free: int
    level_as_of: datetime | None = None  # as_of of the last stock.level applied


@dataclass(frozen=True, slots=True)
class OrderKey:
    """Where a waiting-room page ends; the next page starts after it."""

    priority: int
    entered_at: datetime
    shipment_id: str


@dataclass(frozen=True, slots=True)
class DeadLetter:
    key: bytes | None
    value: bytes | None
    error_type: str
    error_message: str
    source_topic: str
    source_partition: int
    source_offset: int
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class ReadAhead:
    """What a batch is about to ask for, so that a store may read it in a few statements
    first. A hint: a store may ignore it, and every answer is the same either way."""

    listings: frozenset[str] = frozenset()  # SKUs whose listings are read
    first_pages: frozenset[str] = frozenset()  # SKUs whose first waiting-room page is read
    order: ReleaseOrder = ReleaseOrder.FIFO  # ... in this order
    page_size: int = 0  # ... of at most this many shipments
    shipment_ids: frozenset[str] = frozenset()  # shipments looked up (mostly unknown yet)
    supply_ids: frozenset[str] = frozenset()  # supplies looked up by id


class Store(Protocol):
    """One transaction's view of the truth (Postgres in production)."""

    def read_ahead(self, ahead: ReadAhead) -> None:
        """Reads ahead what the batch will ask for (``ReadAhead``); no other effect."""

    def claim_event(self, event_id: str, event_type: str, digest: str) -> Claim:
        """Records the event id in the inbox; says whether it is new. The row commits or
        rolls back with the event's effect, so an event is applied exactly once."""

    def claim_events(self, claims: Sequence[tuple[str, str, str]]) -> None:
        """Claims many (event_id, event_type, digest) at once, in one statement; the first
        ``claim_event`` of each id then answers without asking again."""

    def release_claim(self, event_id: str) -> None:
        """Forgets this transaction's claim of an event that had no effect (rejected), so
        that a replay of it after a fix applies."""

    def lock(self, needs: LockNeeds) -> None:
        """Takes these locks until commit (``service_layer/locking.py`` has the rules).
        The transaction's first call waits for them, all in one global order; a later
        call waits only briefly: if another transaction still holds one, it raises
        ``LockContended`` naming them, and the caller re-runs the transaction with them in
        its first call.
        Re-taking a held lock is a no-op."""

    def lock_skus(self, skus: Iterable[str]) -> None:
        """``lock`` of these SKUs alone."""

    def locations(self) -> dict[str, Location]:
        """Every known location."""

    def listings(self, skus: Iterable[str]) -> dict[tuple[str, str | None], Listing]:
        """The listings of these SKUs, SKU-wide (location None) and per location."""

    def save_listing(self, listing: Listing) -> None:
        """Upserts by (sku, location_id)."""

    def save_location(self, location: Location) -> None:
        """Upserts by location_id."""

    def stock_position(self, location_id: str, sku: str) -> StockPosition:
        """The position (free 0 if never seen)."""

    def add_free_stock(self, location_id: str, sku: str, units: int) -> int:
        """Adds units to the free stock of a position (created at 0 if new); returns the
        free units it held before."""

    def add_free_stock_later(self, location_id: str, sku: str, units: int) -> None:
        """Adds units without waiting for an answer: writes may be merged, and are made
        before anything in this transaction reads stock, and before commit."""

    def set_free_stock(
        self, location_id: str, sku: str, free: int, level_as_of: datetime | None = None
    ) -> None:
        """Sets free units (and the as_of of the level it came from, when given)."""

    def assigned_since(self, location_id: str, sku: str, since: datetime) -> int:
        """Units this worker assigned from the position after ``since`` (stock.level)."""

    def current_stock(self, skus: Iterable[str]) -> dict[StockKey, int]:
        """Free current units of these SKUs at every location that has a position."""

    def skus_raised_by_nobody(self, skus: Iterable[str]) -> set[str]:
        """Which of these SKUs no *other* transaction is raising at this instant: nobody
        else holds their raise lock (``locking`` rule 4; this transaction's own raises
        count as nobody's). Takes no lock: a moment later another may."""

    def stock_totals(self, skus: Iterable[str]) -> dict[str, int]:
        """Per SKU, free current units at every location plus free units of every supply,
        usable or not: at least what any decision, after any catalog change, could draw.
        Without locking: use it only as ``rounds.admit`` does, after
        ``skus_raised_by_nobody`` (its docstring has the argument)."""

    def skus_at(self, location_id: str) -> set[str]:
        """SKUs with free current units or free supply at the location. Complete only
        while the location is locked exclusive (raisers of its stock lock it shared)."""

    def supply(self, supply_id: str) -> Supply | None:
        """One supply, with what is promised from it."""

    def save_supply(self, supply: Supply) -> None:
        """Upserts by supply_id, quantity, promised and date included."""

    def supplies(self, skus: Iterable[str]) -> list[Supply]:
        """The supplies of these SKUs with free units (quantity above promised)."""

    def promised_from(self, supply: Supply) -> list[str]:
        """The FUTURE shipments holding units promised from this supply (the allocation
        ledger), by id."""

    def note_supply_cut(self, cut: SupplyCut, trigger: Trigger, now: datetime) -> None:
        """Adds a history row to each of the cut's shipments (``waiting SHIPMENT``)."""

    def shipment(self, shipment_id: str) -> ShipmentRecord | None:
        """Any shipment the worker knows: waiting, unroutable, released, a child, cancelled."""

    def waiting_page(
        self,
        skus: Iterable[str] | None,
        order: ReleaseOrder,
        after: OrderKey | None,
        limit: int,
    ) -> list[Candidate]:
        """Waiting shipments with a line of any of ``skus`` (None: all), in release order
        (R7: ``priority`` desc first when the order is PRIORITY, then entered_at, then
        shipment id), strictly after ``after``. Reads an index, never the whole room."""

    def waiting_skus(self, skus: Iterable[str]) -> set[str]:
        """Which of these SKUs some waiting shipment needs (one indexed query). For SKUs
        this transaction holds locked the answer is remembered (nobody else can make a
        shipment wait for them until commit) and kept up to date by ``record``."""

    def record(self, decision: Decision, now: datetime) -> None:
        """Persists a decision and queues its output event in the outbox.

        Released: the parent leaves the waiting room (or is inserted, at intake) with its
        new state, children are inserted, current draws lower free stock and are written to
        the allocation ledger, future draws raise the supply's promised units. Raises
        ``ConcurrentRelease`` if the parent is no longer waiting (I2).
        Unroutable WAITING: upserts the shipment as waiting with its reasons. UNROUTABLE:
        stores it as unroutable and out of the waiting room. Every decision adds a history
        row for the ``waiting`` command."""

    def cancel(
        self,
        shipment_id: str,
        trigger: Trigger,
        now: datetime,
        report: ShipmentUnroutable | None = None,
    ) -> ShipmentRecord | None:
        """Marks a known shipment cancelled and takes it out of the waiting room (R11), with
        a history row. With ``report`` (a remainder cancelled with its parent) the report
        is queued in the outbox, and named in the history row; the row keeps its reasons.
        Returns the record as it was, or None if the shipment is unknown."""

    def descendants(self, shipment_id: str) -> list[ShipmentRecord]:
        """Every shipment the worker created from this one, at any depth: children of a
        release, split-offs (R8), short-pick remainders (``parent_id`` links them), in
        shipment-id order."""

    def link_remainder(self, remainder_id: str, parent_id: str) -> None:
        """Records that the worker created ``remainder_id`` (a short-pick remainder) from
        ``parent_id``, so that cancelling the parent reaches it (R11)."""

    def count_short_pick(self, shipment_id: str) -> int:
        """Adds one to the shipment's short-pick counter and returns the new count."""

    def replace_lines(self, shipment_id: str, lines: Sequence[Line]) -> None:
        """Sets a released shipment's lines to what is left of them after a short pick
        (the missing units moved to its remainder); lines with no units left are gone."""

    def dead_letter(self, letter: DeadLetter) -> None:
        """Queues a message for the dead-letter topic, in the outbox."""

    def outbox_ids(self) -> list[int]:
        """Ids of the outbox rows this transaction wrote, in write order (for the relay)."""

    def outbox_rows(self) -> list[OutboxRow]:
        """The outbox rows this transaction wrote, in write order, as they will be read
        back: the relay's fast path publishes them after commit without reading them."""


class UnitOfWork(Protocol):
    def __call__(self) -> AbstractContextManager[Store]:
        """Opens a transaction; commits when the block ends, rolls back on an exception."""


class ConcurrentRelease(TransientError):
    """Another transaction changed the shipment first: retry the whole transaction."""


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]
    event_id: str | None  # None for dead letters


class Outbox(Protocol):
    """The outbox as the relay sees it. Delivery is at least once: a row may be published
    twice (a crash between publish and mark), never zero times."""

    def rows(self, ids: Sequence[int]) -> list[OutboxRow]:
        """These rows if still unpublished, in id order."""

    def pending(self, limit: int, older_than_s: float) -> list[OutboxRow]:
        """Unpublished rows written more than ``older_than_s`` ago, oldest first; rows
        a publisher holds are skipped (SKIP LOCKED). A read: to publish, ``sweep``."""

    def sweep(
        self,
        limit: int,
        older_than_s: float,
        publish: Callable[[list[OutboxRow]], Sequence[int]],
    ) -> int:
        """Publishes up to ``limit`` of the ``pending`` rows through ``publish`` (which
        returns the ids acknowledged) and marks those, holding the rows locked from the
        read to the mark's commit; returns how many were marked. Rows another publisher
        holds are skipped, so concurrent sweepers never publish one row twice."""

    def deliver(
        self, rows: Sequence[OutboxRow], publish: Callable[[list[OutboxRow]], Sequence[int]]
    ) -> int:
        """As ``sweep``, for these rows (a committed transaction's, in hand): those still
        unpublished and not held by a sweeper are published and marked."""

    def mark_published(self, ids: Sequence[int]) -> None:
        """Marks rows published."""

    def backlog(self) -> tuple[int, float]:
        """Unpublished rows and the age in seconds of the oldest (0 when none)."""
