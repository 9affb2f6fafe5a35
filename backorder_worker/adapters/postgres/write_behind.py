"""What one transaction has written but not yet sent to Postgres, and ``flush``.

A batch's decisions, outbox rows and stock changes are kept in memory and go out together,
a few statements for all of them, at the next read that could see them, and before
commit. ``PostgresStore`` decides when a read needs a flush; this class knows what is
kept: the decisions (and so which shipment rows and which SKUs' waiting room they write,
where in the room the waiting reports put their shipments, and whether any draws
stock), the outbox rows, and through ``LockedStock`` the stock changes. The order of a
flush is fixed: stock first (its positions are written with the units the decisions draw
next, see ``locked_stock``), then the decisions, then the outbox rows.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from backorder_worker.adapters.postgres import outbox
from backorder_worker.adapters.postgres.decision_rows import rows_written
from backorder_worker.adapters.postgres.decision_writes import Timed, write_decisions
from backorder_worker.adapters.postgres.locked_stock import LockedStock
from backorder_worker.domain.model import (
    Candidate,
    FulfillmentType,
    Origin,
    ReleaseOrder,
    Shipment,
)
from backorder_worker.domain.outcomes import Decision, ShipmentReleased, WaitState
from backorder_worker.domain.release import release_order_key
from backorder_worker.service_layer.ports import OrderKey, OutboxRow


class WriteBehind:
    def __init__(self, conn: sa.Connection, stock: LockedStock) -> None:
        self._conn, self._stock = conn, stock
        self._decisions: list[Timed] = []
        self._queued: list[outbox.Queued] = []
        self.shipment_ids: set[str] = set()  # shipment rows the kept decisions write
        self.skus: set[str] = set()  # SKUs of those shipments (their waiting room)
        self._draws = False  # a kept decision draws stock
        self._entries: dict[str, list[Candidate]] = {}  # by SKU: kept waiting reports' places
        self.written: list[OutboxRow] = []  # the outbox rows flushed, in write order

    def keep_decision(self, decision: Decision, now: datetime, out: outbox.Queued) -> set[str]:
        """Keeps a decision and its output row; returns the SKUs whose room it changes."""
        self._decisions.append((decision, now))
        self.shipment_ids |= rows_written(decision)
        if isinstance(decision, ShipmentReleased):
            touched = set(decision.parent.skus)
            if decision.split_off is not None:
                touched |= decision.split_off.shipment.skus
            self._draws = True
            self._stock.drawn(decision.draws)
        else:
            touched = set(decision.shipment.skus)
            if decision.state is WaitState.WAITING:
                for sku in touched:
                    self._entries.setdefault(sku, []).append(decision.candidate)
        self.skus |= touched
        self._queued.append(out)
        return touched

    def enters_after(self, skus: set[str], order: ReleaseOrder, after: OrderKey) -> bool:
        """Whether a kept waiting report puts a shipment with one of these SKUs in the room
        (or keeps it there) strictly after ``after``, in this order."""
        cut = release_order_key(order, Candidate(_at(after), after.entered_at, Origin.WAITING))
        return any(
            release_order_key(order, candidate) > cut
            for sku in skus & self._entries.keys()
            for candidate in self._entries[sku]
        )

    def keep_output(self, out: outbox.Queued) -> None:
        self._queued.append(out)

    def flush(self) -> None:
        """Writes everything kept: stock changes, decisions, outbox rows."""
        if self._stock.has_changes():
            self._stock.write(self._conn)
        if self._decisions:
            kept, self._decisions = self._decisions, []
            self.shipment_ids, self.skus, self._draws = set(), set(), False
            self._entries = {}
            write_decisions(self._conn, kept)
            self._stock.decisions_written()
        if self._queued:
            queued, self._queued = self._queued, []
            ids = outbox.queue(self._conn, queued)
            self.written += [
                OutboxRow(i, q.topic, q.key, q.value, list(q.headers), q.event_id)
                for i, q in zip(ids, queued, strict=True)
            ]

    def flush_stock(self) -> None:
        """Before stock is read from Postgres: the kept stock changes, and the decisions
        if any of them draws."""
        if self._draws:
            self.flush()
        elif self._stock.has_changes():
            self._stock.write(self._conn)

    def flush_for(self, shipment_id: str) -> None:
        """Before one shipment is read or written: only if a kept decision writes its row."""
        if shipment_id in self.shipment_ids:
            self.flush()


def _at(key: OrderKey) -> Shipment:
    """A stand-in for the shipment at ``key``: what its release-order key reads of it."""
    return Shipment(key.shipment_id, "", FulfillmentType.STH, (), priority=key.priority)
