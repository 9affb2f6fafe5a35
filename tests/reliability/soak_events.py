"""The soak's world and its single events: the locations, the shape of a plan, and the
builders of one input each (a stow, a level, a supply and its updates, a location, a
listing), over the catalog state a plan changes as it goes (which locations are active
and what they serve, and the supplies announced so far).

Supply dates keep ``FAR_FROM_LIMIT_DAYS`` from the worker's date limit either side, so
that crossing midnight during a run changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.e2e.support import Event

LOCATIONS: dict[str, tuple[tuple[str, ...], int]] = {
    "DC1": (("STH",), 1),
    "DC2": (("STH", "BOPIS"), 2),
    "ST1": (("BOPIS",), 3),
    "ST2": (("STH", "BOPIS"), 4),  # starts inactive: switched on and off during the run
}
PICKUP = ("DC2", "ST1", "ST2")
FAR_FROM_LIMIT_DAYS = 10  # supply dates keep this far from the 30-day limit either side


@dataclass(frozen=True)
class PlanShape:
    shared_skus: int = 24
    phase_skus: int = 24
    fresh_share: float = 0.85  # of a new shipment's lines, from the phase's own SKUs
    pairs: int = 50  # pair shipments in a pair phase
    new_shipments: tuple[int, int] = (2, 5)  # per burst, inclusive
    completed_per_burst: tuple[int, int] = (0, 1)
    limit_days: int = 30  # the worker's `future_date_limit_days`


class SoakEvents:
    """Single events over the catalog state; ``SoakPlan`` sets the state up."""

    shape: PlanShape
    today: date
    _rnd: random.Random
    sku_ids: list[str]
    _supplies: dict[tuple[str, str], list[str]]
    _active: dict[str, bool]
    _types: dict[str, tuple[str, ...]]

    def _loc(self) -> str:
        return self._rnd.choice(list(LOCATIONS))

    def _sku(self) -> str:
        return self._rnd.choice(self.sku_ids)

    def _stow(self, loc: str, sku: str, units: int) -> Event:
        return ("stock.stowed", {"location_id": loc, "sku": sku, "quantity": units})

    def _level(self, loc: str, sku: str, available: int) -> Event:
        as_of = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return (
            "stock.level",
            {"location_id": loc, "sku": sku, "available": available, "as_of": as_of},
        )

    def _supply(self, loc: str, sku: str, units: int, *, within: bool) -> Event:
        ids = self._supplies.setdefault((loc, sku), [])
        ids.append(f"P-{loc}-{sku}-{len(ids)}")
        return self._supply_event(ids[-1], loc, sku, units, within)

    def _supply_update(self, supply_id: str, loc: str, sku: str) -> Event:
        units = self._rnd.choice([0, 1, 2, 3])
        return self._supply_event(supply_id, loc, sku, units, self._rnd.random() < 0.6)

    def _supply_event(self, supply_id: str, loc: str, sku: str, units: int, within: bool) -> Event:
        limit, margin = self.shape.limit_days, FAR_FROM_LIMIT_DAYS
        days = self._rnd.randint(1, limit - margin) if within else limit + margin + 5
        data = {
            "supply_id": supply_id,
            "location_id": loc,
            "sku": sku,
            "quantity": units,
            "expected_date": (self.today + timedelta(days=days)).isoformat(),
        }
        return ("future-inventory.updated", data)

    def _location(self, loc: str, active: bool) -> Event:
        types, rank = self._types[loc], LOCATIONS[loc][1]
        data = {"location_id": loc, "active": active, "fulfillment_types": list(types)}
        return ("location.updated", {**data, "rank": rank})

    def _listing(self, sku: str, behaviour: str, *, future: bool, loc: str | None = None) -> Event:
        data: dict[str, Any] = {
            "sku": sku,
            "out_of_stock_behaviour": behaviour,
            "future_inventory_enabled": future,
        }
        if loc is not None:
            data["location_id"] = loc
        return ("listing.updated", data)
