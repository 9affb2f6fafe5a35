"""Stock as the decisions see it: free current units per location and SKU, and future
supplies with the units already promised from them.

``StockPool`` is the one mutable object of the core: a working copy that a decision
round draws from, so that the shipments decided later in a round see what the earlier
ones took. It never goes below zero (I1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

StockKey = tuple[str, str]  # (location_id, sku)


@dataclass(frozen=True, slots=True)
class Supply:
    """Announced future inventory (e.g. a purchase-order line)."""

    supply_id: str
    location_id: str
    sku: str
    quantity: int
    expected_date: date
    promised: int = 0  # units already promised to FUTURE shipments

    @property
    def free(self) -> int:
        return max(0, self.quantity - self.promised)


@dataclass(slots=True)
class _SupplyLeft:
    supply_id: str
    expected_date: date
    free: int


@dataclass(frozen=True, slots=True)
class Draw:
    """Units taken from current stock (``supply_id`` None) or from one supply."""

    location_id: str
    sku: str
    quantity: int
    supply_id: str | None = None
    expected_date: date | None = None


class StockPool:
    """Free units a round may assign; supplies are drawn earliest date first.

    Per SKU it keeps the live total and the set of locations that still hold some, so
    that a round asks "is there enough anywhere?" in O(1) before it plans a route.
    """

    def __init__(
        self, current: Mapping[StockKey, int] | None = None, supplies: Iterable[Supply] = ()
    ) -> None:
        self._current: dict[StockKey, int] = {}
        self._future: dict[StockKey, int] = {}
        self._supplies: dict[StockKey, list[_SupplyLeft]] = {}
        self._supply_ids: set[str] = set()
        self._total: dict[str, int] = defaultdict(int)
        self._stocked: dict[str, set[str]] = defaultdict(set)
        self.add(current or {}, supplies)

    def add(self, current: Mapping[StockKey, int], supplies: Iterable[Supply] = ()) -> None:
        """Adds positions and supplies not seen yet; known ones keep their drawn state."""
        for key, units in current.items():
            if key not in self._current:
                self._current[key] = max(0, units)
                self._changed(key, max(0, units))
        for supply in supplies:
            if supply.supply_id in self._supply_ids or supply.free <= 0:
                continue
            self._supply_ids.add(supply.supply_id)
            key = (supply.location_id, supply.sku)
            lefts = self._supplies.setdefault(key, [])
            lefts.append(_SupplyLeft(supply.supply_id, supply.expected_date, supply.free))
            lefts.sort(key=lambda left: (left.expected_date, left.supply_id))
            self._future[key] = self._future.get(key, 0) + supply.free
            self._changed(key, supply.free)

    def _changed(self, key: StockKey, delta: int) -> None:
        location_id, sku = key
        self._total[sku] += delta
        if self._current.get(key, 0) + self._future.get(key, 0) > 0:
            self._stocked[sku].add(location_id)
        else:
            self._stocked[sku].discard(location_id)

    def total(self, sku: str) -> int:
        """Free units of ``sku`` at every location, current and future."""
        return self._total.get(sku, 0)

    def locations_with(self, sku: str) -> set[str]:
        """Locations that hold free units of ``sku`` now."""
        return self._stocked.get(sku, set())

    def current(self, location_id: str, sku: str) -> int:
        return self._current.get((location_id, sku), 0)

    def future(self, location_id: str, sku: str) -> int:
        return self._future.get((location_id, sku), 0)

    def supply_left(self) -> dict[str, int]:
        """Free units left of every supply in the pool, by supply id."""
        return {left.supply_id: left.free for lefts in self._supplies.values() for left in lefts}

    def future_draws(self, location_id: str, sku: str, units: int) -> list[Draw]:
        """What ``units`` would draw from the supplies, earliest first (no change)."""
        draws: list[Draw] = []
        for left in self._supplies.get((location_id, sku), ()):
            if units <= 0:
                break
            take = min(units, left.free)
            if take > 0:
                draws.append(Draw(location_id, sku, take, left.supply_id, left.expected_date))
                units -= take
        return draws

    def take(self, draw: Draw) -> None:
        """Removes a draw; raises if the pool does not hold it (a bug, never a business no)."""
        if draw.supply_id is None:
            key = (draw.location_id, draw.sku)
            units = self._current.get(key, 0)
            if units < draw.quantity:
                raise ValueError(f"oversell of {key}: {draw.quantity} drawn, {units} free")
            self._current[key] = units - draw.quantity
            self._changed(key, -draw.quantity)
            return
        for left in self._supplies.get((draw.location_id, draw.sku), ()):
            if left.supply_id == draw.supply_id:
                if left.free < draw.quantity:
                    raise ValueError(f"oversell of supply {draw.supply_id}")
                left.free -= draw.quantity
                key = (draw.location_id, draw.sku)
                self._future[key] -= draw.quantity
                self._changed(key, -draw.quantity)
                return
        raise ValueError(f"unknown supply {draw.supply_id}")
