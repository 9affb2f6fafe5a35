"""What one transaction knows of the stock of the SKUs it holds locked.

Once a transaction holds a SKU's advisory lock (``locks.py``), nobody else changes that
SKU's stock positions or supplies until it commits: every writer of them takes the lock
first. So the first read of a locked SKU loads its positions and supplies once, for every
locked SKU not loaded yet (one statement for both), and every later read of it in the
transaction is answered from memory. The transaction's own writes keep the copy current
and are written together at the next flush, before the kept decisions:

- a changed position of a loaded SKU is written as its absolute value *plus the units kept
  decisions draw from it*: their guarded draws (``draws.apply_draws``), written next, take
  those units off again, so the database never holds a negative intermediate value and
  still refuses an oversell;
- units added to a SKU not loaded (a stow nobody waits for) are written as an addition;
- supply upserts are kept whole and written before the kept decisions' guarded promises.
  An upsert of a supply that a kept decision promises from flushes first (``needs_flush``),
  so a kept upsert never already counts a kept promise;
- a recorded release's draws lower the copy at once (``drawn``).

Reads of SKUs this transaction does not hold locked go to Postgres, after a flush.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa

from backorder_worker.adapters.postgres import stock, supplies
from backorder_worker.domain.inventory import Draw, StockKey, Supply
from backorder_worker.service_layer.ports import StockPosition


class LockedStock:
    def __init__(self) -> None:
        self._loaded: set[str] = set()
        self._positions: dict[str, dict[str, StockPosition]] = {}  # sku -> location -> position
        self._supplies: dict[str, Supply] = {}  # of loaded SKUs, by supply id
        self._changed: set[StockKey] = set()  # positions of loaded SKUs to write
        self._drawn: Counter[StockKey] = Counter()  # units kept decisions draw, by position
        self._added: Counter[StockKey] = Counter()  # units added to SKUs not loaded
        self._upserts: dict[str, Supply] = {}
        self._promising: set[str] = set()  # supply ids a kept decision promises from
        self._drawn_skus: set[str] = set()  # SKUs a kept decision draws from, loaded or not

    # -- reads ---------------------------------------------------------------------------

    def load(self, conn: sa.Connection, locked: Iterable[str]) -> None:
        """Loads every locked SKU not loaded yet (one statement, or none)."""
        new = set(locked) - self._loaded
        if not new:
            return
        by_sku: dict[str, dict[str, StockPosition]] = {sku: {} for sku in new}
        positions, found = stock.positions_and_supplies_of(conn, new)
        for position in positions:
            by_sku[position.sku][position.location_id] = position
        self._positions.update(by_sku)
        self._loaded |= new
        for key in [key for key in self._added if key[1] in new]:  # added before the load
            self._change(key, self._added.pop(key), None)
        for supply in found:
            if supply.supply_id not in self._upserts:  # else the kept upsert is newer
                self._supplies[supply.supply_id] = supply
        for supply_id, kept in self._upserts.items():
            if kept.sku in new:  # kept before its SKU was loaded: nothing drew from it since
                self._supplies[supply_id] = kept

    def has(self, skus: Iterable[str]) -> bool:
        return all(sku in self._loaded for sku in skus)

    def position(self, location_id: str, sku: str) -> StockPosition:
        found = self._positions[sku].get(location_id)
        return found if found is not None else StockPosition(location_id, sku, 0)

    def current(self, skus: Iterable[str]) -> dict[StockKey, int]:
        return {
            (location_id, sku): position.free
            for sku in sorted(set(skus))
            for location_id, position in sorted(self._positions[sku].items())
        }

    def totals(self, skus: Iterable[str]) -> dict[str, int]:
        """Free current units everywhere plus free supply units, per loaded SKU."""
        totals = {sku: sum(p.free for p in self._positions[sku].values()) for sku in skus}
        for supply in self._supplies.values():
            if supply.sku in totals:
                totals[supply.sku] += supply.free
        return totals

    def added(self, skus: Iterable[str]) -> dict[str, int]:
        """Units kept as additions to these SKUs (not loaded), not yet in Postgres."""
        wanted = set(skus)
        added = dict.fromkeys(wanted, 0)
        for (_, sku), units in self._added.items():
            if sku in wanted:
                added[sku] += units
        return added

    def supply(self, supply_id: str) -> Supply | None:
        """The supply if this transaction knows it: of a loaded SKU, or upserted here."""
        return self._supplies.get(supply_id) or self._upserts.get(supply_id)

    def supplies(self, skus: Iterable[str]) -> list[Supply]:
        wanted = set(skus)
        found = (s for s in self._supplies.values() if s.sku in wanted and s.free > 0)
        return sorted(found, key=lambda s: s.supply_id)

    # -- writes --------------------------------------------------------------------------

    def add(self, location_id: str, sku: str, units: int) -> int:
        """Adds units (the SKU need not be loaded); returns the free units before, or 0
        when the SKU is not loaded (the caller did not ask)."""
        if sku not in self._loaded:
            self._added[(location_id, sku)] += units
            return 0
        before = self.position(location_id, sku).free
        self._change((location_id, sku), units, None)
        return before

    def set(self, location_id: str, sku: str, free: int, level_as_of: datetime | None) -> None:
        """Sets a loaded SKU's free units (and the as_of of the level they came from)."""
        delta = free - self.position(location_id, sku).free
        self._change((location_id, sku), delta, level_as_of)

    def needs_flush(self, supply: Supply) -> bool:
        """Whether the kept decisions must be written before this supply's upsert."""
        return supply.supply_id in self._promising

    def save_supply(self, supply: Supply) -> None:
        self._upserts[supply.supply_id] = supply
        previous = self._supplies.get(supply.supply_id)
        if supply.sku in self._loaded:
            self._supplies[supply.supply_id] = supply
        elif previous is not None:  # it moved to a SKU not loaded: forget it here
            del self._supplies[supply.supply_id]

    def drawn(self, draws: Sequence[Draw]) -> None:
        """A recorded release took these units (its decision writes them)."""
        for draw in draws:
            self._drawn_skus.add(draw.sku)
            if draw.supply_id is None:
                key = (draw.location_id, draw.sku)
                if draw.sku in self._loaded:
                    self._drawn[key] += draw.quantity
                    self._move(key, -draw.quantity, None)
                continue
            self._promising.add(draw.supply_id)
            supply = self._supplies.get(draw.supply_id)
            if supply is not None:
                promised = supply.promised + draw.quantity
                self._supplies[draw.supply_id] = replace(supply, promised=promised)

    def has_changes(self) -> bool:
        return bool(self._changed or self._added or self._upserts)

    def write(self, conn: sa.Connection) -> None:
        """Writes the kept position changes and supply upserts (before the decisions)."""
        levels: dict[StockKey, tuple[int, datetime | None]] = {}
        for key in self._changed:
            position = self._positions[key[1]][key[0]]  # a changed position is kept
            levels[key] = (position.free + self._drawn.get(key, 0), position.level_as_of)
        added, upserts = dict(self._added), list(self._upserts.values())
        self._changed, self._added, self._upserts = set(), Counter(), {}
        stock.set_positions(conn, levels)
        stock.add_to_positions(conn, added)
        supplies.save_supplies(conn, upserts)

    def decisions_written(self) -> None:
        self._drawn.clear()
        self._promising.clear()
        self._drawn_skus.clear()

    def drawn_unloaded(self, skus: Iterable[str]) -> bool:
        """Whether a kept decision draws from any of these SKUs that are not loaded: their
        kept copy (blind additions, upserts) does not show the draw until it is written.
        Draws come from locked SKUs, loaded by then, unless a caller drew without locks."""
        return bool((set(skus) - self._loaded) & self._drawn_skus)

    def promise_unseen(self, supply_id: str) -> bool:
        """Whether this supply's kept upsert (its SKU not loaded) misses a kept promise."""
        return supply_id in self._promising and supply_id not in self._supplies

    def _change(self, key: StockKey, delta: int, level_as_of: datetime | None) -> None:
        self._changed.add(key)
        self._move(key, delta, level_as_of)

    def _move(self, key: StockKey, delta: int, level_as_of: datetime | None) -> None:
        location_id, sku = key
        old = self.position(location_id, sku)
        as_of = level_as_of if level_as_of is not None else old.level_as_of
        self._positions[sku][location_id] = StockPosition(location_id, sku, old.free + delta, as_of)
