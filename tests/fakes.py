"""An in-memory Store for fast tests of the service layer.

It keeps the same promises as the Postgres adapter (the contract suite runs on both):
a transaction is a deep copy that replaces the state on commit; records refuse to
release a shipment that is no longer waiting and to draw more than is free.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

from backorder_worker.domain.inventory import StockKey, Supply
from backorder_worker.domain.model import (
    Candidate,
    FulfillmentType,
    Line,
    Listing,
    Location,
    Origin,
    ReleaseOrder,
    Shipment,
)
from backorder_worker.domain.outcomes import (
    Decision,
    ShipmentReleased,
    ShipmentStatus,
    ShipmentUnroutable,
    Trigger,
    WaitState,
)
from backorder_worker.domain.receiving import SupplyCut
from backorder_worker.domain.release import release_order_key
from backorder_worker.service_layer.locking import LockNeeds
from backorder_worker.service_layer.ports import (
    Claim,
    ConcurrentRelease,
    DeadLetter,
    OrderKey,
    OutboxRow,
    ReadAhead,
    ShipmentRecord,
    ShipmentState,
    StockPosition,
)


@dataclass
class State:
    inbox: dict[str, str] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    listings: dict[tuple[str, str | None], Listing] = field(default_factory=dict)
    stock: dict[StockKey, StockPosition] = field(default_factory=dict)
    allocations: list[tuple[str, str, int, datetime]] = field(default_factory=list)
    supplies: dict[str, Supply] = field(default_factory=dict)
    shipments: dict[str, ShipmentRecord] = field(default_factory=dict)
    outbox: list[tuple[str, object]] = field(default_factory=list)  # (kind, decision/letter)
    promises: list[tuple[str, str]] = field(default_factory=list)  # (supply_id, shipment_id)
    notes: list[tuple[str, str, SupplyCut]] = field(default_factory=list)  # (shipment, event, cut)


class FakeStore:
    def __init__(self, state: State) -> None:
        self.state = state
        self.locked: set[str] = set()
        self._outbox_ids: list[int] = []
        self._preclaimed: set[str] = set()

    def claim_event(self, event_id: str, event_type: str, digest: str) -> Claim:
        if event_id in self._preclaimed:
            self._preclaimed.discard(event_id)
            return Claim.NEW
        seen = self.state.inbox.get(event_id)
        if seen is None:
            self.state.inbox[event_id] = digest
            return Claim.NEW
        return Claim.DUPLICATE if seen == digest else Claim.CONFLICT

    def read_ahead(self, ahead: ReadAhead) -> None:
        pass  # everything is in memory already

    def claim_events(self, claims: Sequence[tuple[str, str, str]]) -> None:
        for event_id, _, digest in claims:
            if event_id not in self.state.inbox:
                self.state.inbox[event_id] = digest
                self._preclaimed.add(event_id)

    def release_claim(self, event_id: str) -> None:
        self._preclaimed.discard(event_id)
        del self.state.inbox[event_id]

    def add_free_stock(self, location_id: str, sku: str, units: int) -> int:
        before = self.stock_position(location_id, sku)
        self.state.stock[(location_id, sku)] = replace(before, free=before.free + units)
        return before.free

    def add_free_stock_later(self, location_id: str, sku: str, units: int) -> None:
        self.add_free_stock(location_id, sku, units)

    def lock_skus(self, skus: Iterable[str]) -> None:
        self.locked.update(skus)

    def skus_raised_by_nobody(self, skus: Iterable[str]) -> set[str]:
        return set(skus)  # one transaction at a time: nobody else holds anything

    def lock(self, needs: LockNeeds) -> None:
        # One transaction at a time here: nothing can contend.
        self.locked.update(needs.skus)

    def locations(self) -> dict[str, Location]:
        return dict(self.state.locations)

    def listings(self, skus: Iterable[str]) -> dict[tuple[str, str | None], Listing]:
        wanted = set(skus)
        return {k: v for k, v in self.state.listings.items() if k[0] in wanted}

    def save_listing(self, listing: Listing) -> None:
        self.state.listings[(listing.sku, listing.location_id)] = listing

    def save_location(self, location: Location) -> None:
        self.state.locations[location.location_id] = location

    def stock_position(self, location_id: str, sku: str) -> StockPosition:
        return self.state.stock.get((location_id, sku), StockPosition(location_id, sku, 0))

    def set_free_stock(
        self, location_id: str, sku: str, free: int, level_as_of: datetime | None = None
    ) -> None:
        before = self.stock_position(location_id, sku)
        as_of = level_as_of if level_as_of is not None else before.level_as_of
        self.state.stock[(location_id, sku)] = StockPosition(location_id, sku, free, as_of)

    def assigned_since(self, location_id: str, sku: str, since: datetime) -> int:
        return sum(
            q
            for loc, s, q, at in self.state.allocations
            if (loc, s) == (location_id, sku) and at > since
        )

    def current_stock(self, skus: Iterable[str]) -> dict[StockKey, int]:
        wanted = set(skus)
        return {k: p.free for k, p in self.state.stock.items() if k[1] in wanted}

    def stock_totals(self, skus: Iterable[str]) -> dict[str, int]:
        wanted = set(skus)
        totals = dict.fromkeys(wanted, 0)
        for (_, sku), position in self.state.stock.items():
            if sku in wanted:
                totals[sku] += position.free
        for supply in self.state.supplies.values():
            if supply.sku in wanted:
                totals[supply.sku] += supply.free
        return totals

    def skus_at(self, location_id: str) -> set[str]:
        stocked = {s for (loc, s), p in self.state.stock.items() if loc == location_id and p.free}
        return stocked | {
            s.sku for s in self.state.supplies.values() if s.location_id == location_id and s.free
        }

    def supply(self, supply_id: str) -> Supply | None:
        return self.state.supplies.get(supply_id)

    def save_supply(self, supply: Supply) -> None:
        self.state.supplies[supply.supply_id] = supply

    def supplies(self, skus: Iterable[str]) -> list[Supply]:
        wanted = set(skus)
        return [s for s in self.state.supplies.values() if s.sku in wanted and s.free > 0]

    def promised_from(self, supply: Supply) -> list[str]:
        return sorted(
            {
                shipment_id
                for supply_id, shipment_id in self.state.promises
                if supply_id == supply.supply_id
                and self.state.shipments[shipment_id].state is ShipmentState.FUTURE
            }
        )

    def note_supply_cut(self, cut: SupplyCut, trigger: Trigger, now: datetime) -> None:
        self.state.notes += [
            (shipment_id, trigger.event_id, cut) for shipment_id in cut.shipment_ids
        ]

    def shipment(self, shipment_id: str) -> ShipmentRecord | None:
        return self.state.shipments.get(shipment_id)

    def waiting_page(
        self, skus: Iterable[str] | None, order: ReleaseOrder, after: OrderKey | None, limit: int
    ) -> list[Candidate]:
        wanted = None if skus is None else set(skus)
        waiting = [
            Candidate(r.shipment, r.entered_at, Origin.WAITING, r.backordered_at)
            for r in self.state.shipments.values()
            if r.state is ShipmentState.WAITING
            and r.entered_at is not None
            and (wanted is None or r.shipment.skus & wanted)
        ]
        waiting.sort(key=lambda c: release_order_key(order, c))
        if after is not None:
            cut = release_order_key(
                order,
                Candidate(_stub(after), after.entered_at, Origin.WAITING),
            )
            waiting = [c for c in waiting if release_order_key(order, c) > cut]
        return waiting[:limit]

    def waiting_skus(self, skus: Iterable[str]) -> set[str]:
        wanted = set(skus)
        return {
            sku
            for r in self.state.shipments.values()
            if r.state is ShipmentState.WAITING
            for sku in r.shipment.skus & wanted
        }

    def record(self, decision: Decision, now: datetime) -> None:
        if isinstance(decision, ShipmentReleased):
            self._record_release(decision, now)
        else:
            c = decision.candidate
            existing = self.state.shipments.get(c.shipment.shipment_id)
            if existing is not None and existing.state not in (
                ShipmentState.WAITING,
                ShipmentState.UNROUTABLE,
            ):
                raise ConcurrentRelease(c.shipment.shipment_id)
            waits = decision.state is WaitState.WAITING
            self.state.shipments[c.shipment.shipment_id] = ShipmentRecord(
                c.shipment,
                ShipmentState.WAITING if waits else ShipmentState.UNROUTABLE,
                c.entered_at,
                c.backordered_at or c.entered_at,
                parent_id=existing.parent_id if existing else None,
                short_picks=existing.short_picks if existing else 0,
            )
        self._queue("decision", decision)

    def _record_release(self, decision: ShipmentReleased, now: datetime) -> None:
        parent_id = decision.parent.shipment_id
        existing = self.state.shipments.get(parent_id)
        if existing is not None and existing.state is not ShipmentState.WAITING:
            raise ConcurrentRelease(parent_id)
        for draw in decision.draws:
            if draw.supply_id is None:
                pos = self.stock_position(draw.location_id, draw.sku)
                if pos.free < draw.quantity:
                    raise AssertionError(f"oversell at {draw.location_id}/{draw.sku}")
                self.state.stock[(draw.location_id, draw.sku)] = replace(
                    pos, free=pos.free - draw.quantity
                )
                self.state.allocations.append((draw.location_id, draw.sku, draw.quantity, now))
            else:
                supply = self.state.supplies[draw.supply_id]
                assert supply.free >= draw.quantity, f"oversell of {draw.supply_id}"
                self.state.supplies[draw.supply_id] = replace(
                    supply, promised=supply.promised + draw.quantity
                )
                receiver = next(
                    s.shipment_id
                    for s in decision.shipments
                    if s.status is ShipmentStatus.FUTURE and s.location_id == draw.location_id
                )
                self.state.promises.append((draw.supply_id, receiver))
        entered = existing.entered_at if existing is not None else None
        linked = existing.parent_id if existing is not None else None  # a remainder's link
        counted = existing.short_picks if existing is not None else 0  # kept, as in Postgres
        for child in decision.shipments:
            lines = {line.line_id: line for line in decision.parent.lines}
            shipment = replace(
                decision.parent,
                shipment_id=child.shipment_id,
                lines=tuple(replace(lines[ln.line_id], quantity=ln.quantity) for ln in child.lines),
            )
            self.state.shipments[child.shipment_id] = ShipmentRecord(
                shipment,
                ShipmentState(child.status.value),
                entered if child.shipment_id == parent_id else None,
                decision.backordered_at,
                child.location_id,
                child.expected_date,
                parent_id if child.shipment_id != parent_id else linked,
                counted if child.shipment_id == parent_id else 0,
            )
        if decision.parent_status is ShipmentStatus.REASSIGNED:
            self.state.shipments[parent_id] = ShipmentRecord(
                decision.parent,
                ShipmentState.REASSIGNED,
                entered,
                decision.backordered_at,
                parent_id=linked,
                short_picks=counted,
            )
        if decision.split_off is not None:
            split = decision.split_off
            self.state.shipments[split.shipment.shipment_id] = ShipmentRecord(
                split.shipment,
                ShipmentState.WAITING,
                split.entered_at,
                split.backordered_at,
                parent_id=parent_id,
            )

    def cancel(
        self,
        shipment_id: str,
        trigger: Trigger,
        now: datetime,
        report: ShipmentUnroutable | None = None,
    ) -> ShipmentRecord | None:
        record = self.state.shipments.get(shipment_id)
        if record is not None and record.state is not ShipmentState.CANCELLED:
            self.state.shipments[shipment_id] = replace(record, state=ShipmentState.CANCELLED)
            if report is not None:
                self._queue("decision", report)
        return record

    def descendants(self, shipment_id: str) -> list[ShipmentRecord]:
        found: dict[str, ShipmentRecord] = {}
        parents = [shipment_id]
        while parents:
            children = [
                r
                for r in self.state.shipments.values()
                if r.parent_id in parents and r.shipment.shipment_id not in found
            ]
            found.update((r.shipment.shipment_id, r) for r in children)
            parents = [r.shipment.shipment_id for r in children]
        return [found[key] for key in sorted(found)]

    def link_remainder(self, remainder_id: str, parent_id: str) -> None:
        record = self.state.shipments[remainder_id]
        self.state.shipments[remainder_id] = replace(record, parent_id=parent_id)

    def replace_lines(self, shipment_id: str, lines: Sequence[Line]) -> None:
        record = self.state.shipments[shipment_id]
        kept = tuple(line for line in lines if line.quantity > 0)
        self.state.shipments[shipment_id] = replace(
            record, shipment=replace(record.shipment, lines=kept)
        )

    def count_short_pick(self, shipment_id: str) -> int:
        record = self.state.shipments[shipment_id]
        self.state.shipments[shipment_id] = replace(record, short_picks=record.short_picks + 1)
        return record.short_picks + 1

    def dead_letter(self, letter: DeadLetter) -> None:
        self._queue("dead-letter", letter)

    def outbox_ids(self) -> list[int]:
        return list(self._outbox_ids)

    def outbox_rows(self) -> list[OutboxRow]:
        """The queued decisions and letters as rows (their repr as the value)."""
        rows = []
        for row_id in self._outbox_ids:
            kind, item = self.state.outbox[row_id - 1]
            event_id = getattr(item, "event_id", None)
            rows.append(OutboxRow(row_id, kind, None, repr(item).encode(), [], event_id))
        return rows

    def _queue(self, kind: str, item: object) -> None:
        self.state.outbox.append((kind, item))
        self._outbox_ids.append(len(self.state.outbox))


def _stub(after: OrderKey) -> Shipment:
    return Shipment(after.shipment_id, "", FulfillmentType.STH, (), priority=after.priority)


class FakeUnitOfWork:
    def __init__(self, store_type: type[FakeStore] = FakeStore) -> None:
        self.state = State()
        self.commits = 0
        self.store_type = store_type

    @contextmanager
    def __call__(self) -> Iterator[FakeStore]:
        working = copy.deepcopy(self.state)
        yield self.store_type(working)
        self.state = working
        self.commits += 1
