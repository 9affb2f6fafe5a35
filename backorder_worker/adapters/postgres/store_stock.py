"""The stock ports (``StockPort``, ``SupplyPort``) of ``PostgresStore``, on its transaction.

A SKU this transaction holds locked has its stock loaded once (``LockedStock``) and is
answered from memory from then on: nobody else changes it until commit. Any other read
goes to Postgres (``stock``, ``draws``), after the kept writes it could see
(``WriteBehind.flush_stock``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from backorder_worker.adapters.postgres import draws, stock, supplies
from backorder_worker.adapters.postgres.history import history_row, write_history
from backorder_worker.adapters.postgres.locked_stock import LockedStock
from backorder_worker.adapters.postgres.read_cache import ReadCache
from backorder_worker.adapters.postgres.write_behind import WriteBehind
from backorder_worker.domain.inventory import StockKey, Supply
from backorder_worker.domain.outcomes import Trigger
from backorder_worker.domain.receiving import SupplyCut
from backorder_worker.service_layer.ports import ShipmentState, StockPosition


class PostgresStock:
    """A part of ``PostgresStore``: the transaction's state is the store's."""

    _conn: sa.Connection
    _locked: set[str]  # the SKUs this transaction holds locked
    _stock: LockedStock
    _reads: ReadCache
    _writes: WriteBehind

    # -- stock ---------------------------------------------------------------------------

    def _holds(self, skus: Iterable[str]) -> bool:
        """Whether every one of these SKUs is locked here, their stock then loaded."""
        wanted = set(skus)
        if not wanted <= self._locked:
            return False
        if not self._stock.has(wanted):
            self._stock.load(self._conn, self._locked)  # every locked SKU, in one go
        return True

    def stock_position(self, location_id: str, sku: str) -> StockPosition:
        if self._holds([sku]):
            return self._stock.position(location_id, sku)
        self._writes.flush_stock()
        return stock.stock_position(self._conn, location_id, sku)

    def add_free_stock_later(self, location_id: str, sku: str, units: int) -> None:
        self._stock.add(location_id, sku, units)

    def add_free_stock(self, location_id: str, sku: str, units: int) -> int:
        if self._holds([sku]):
            return self._stock.add(location_id, sku, units)
        self._writes.flush_stock()
        return stock.add_free_stock(self._conn, location_id, sku, units)

    def set_free_stock(
        self, location_id: str, sku: str, free: int, level_as_of: datetime | None = None
    ) -> None:
        if self._holds([sku]):
            self._stock.set(location_id, sku, free, level_as_of)
            return
        self._writes.flush_stock()
        stock.set_free_stock(self._conn, location_id, sku, free, level_as_of)

    def assigned_since(self, location_id: str, sku: str, since: datetime) -> int:
        self._writes.flush_stock()
        return stock.assigned_since(self._conn, location_id, sku, since)

    def current_stock(self, skus: Iterable[str]) -> dict[StockKey, int]:
        wanted = set(skus)
        if self._holds(wanted):
            return self._stock.current(wanted)
        self._writes.flush_stock()
        return stock.current_stock(self._conn, wanted)

    def stock_totals(self, skus: Iterable[str]) -> dict[str, int]:
        wanted = set(skus)
        held = {sku for sku in wanted if self._stock.has([sku])}  # loaded: locked here
        totals = self._stock.totals(held)
        rest = wanted - held
        if self._stock.drawn_unloaded(rest):  # drawn without their locks: write first
            self._writes.flush()
        if rest:
            # Else no flush: kept writes of SKUs not loaded are blind additions only (set
            # positions belong to loaded SKUs, and so do draws made under their locks), and
            # they are added here from memory.
            totals |= stock.totals(self._conn, rest)
            for sku, units in self._stock.added(rest).items():  # kept blind additions
                totals[sku] += units
        return totals

    def skus_at(self, location_id: str) -> set[str]:
        self._writes.flush_stock()
        return stock.skus_at(self._conn, location_id)

    # -- supplies ------------------------------------------------------------------------

    def supply(self, supply_id: str) -> Supply | None:
        if self._stock.promise_unseen(supply_id):  # the kept promise is written first
            self._writes.flush()
        known = self._stock.supply(supply_id)
        if known is not None or supply_id in self._reads.unknown_supplies:
            return known
        # Not kept here, so no kept write changes it: Postgres has it as it is.
        return supplies.supply(self._conn, supply_id)

    def save_supply(self, supply: Supply) -> None:
        if self._stock.needs_flush(supply):
            self._writes.flush()
        self._reads.unknown_supplies.discard(supply.supply_id)
        self._stock.save_supply(supply)

    def supplies(self, skus: Iterable[str]) -> list[Supply]:
        wanted = set(skus)
        if self._holds(wanted):
            return self._stock.supplies(wanted)
        self._writes.flush_stock()
        return supplies.supplies_with_free_units(self._conn, wanted)

    def promised_from(self, supply: Supply) -> list[str]:
        self._writes.flush()  # kept releases write the ledger
        return draws.promised_from(self._conn, supply)

    def note_supply_cut(self, cut: SupplyCut, trigger: Trigger, now: datetime) -> None:
        detail = {
            "outcome": "supply-cut",
            "supply_id": cut.supply_id,
            "quantity": cut.quantity,
            "promised": cut.promised,
            "shortfall": cut.shortfall,
        }
        rows = [
            history_row(shipment_id, now, trigger, ShipmentState.FUTURE, detail)
            for shipment_id in cut.shipment_ids
        ]
        write_history(self._conn, rows)
