"""The stock ports: current stock positions (``StockPort``) and future supplies
(``SupplyPort``).

Both are read and written under the SKU locks of ``service_layer/locking.py``; the reads
that are not (``stock_totals``, ``skus_at``) say in their docstring what makes them safe.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from backorder_worker.domain.inventory import StockKey, Supply
from backorder_worker.domain.outcomes import Trigger
from backorder_worker.domain.receiving import SupplyCut


@dataclass(frozen=True, slots=True)
class StockPosition:
    location_id: str
    sku: str
    free: int
    level_as_of: datetime | None = None  # as_of of the last stock.level applied


class StockPort(Protocol):
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

    def stock_totals(self, skus: Iterable[str]) -> dict[str, int]:
        """Per SKU, free current units at every location plus free units of every supply,
        usable or not: at least what any decision, after any catalog change, could draw.
        Without locking: use it only as ``rounds.admit`` does, after
        ``skus_raised_by_nobody`` (its docstring has the argument)."""

    def skus_at(self, location_id: str) -> set[str]:
        """SKUs with free current units or free supply at the location. Complete only
        while the location is locked exclusive (raisers of its stock lock it shared)."""


class SupplyPort(Protocol):
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
