"""What a route is, and how two routes compare (R6).

A ``Plan`` assigns a shipment's lines to draws on the stock pool, and says what it leaves
missing. The planners (the greedy pass in ``route_greedy``, the exact search in
``route_search``) only propose plans; ``Scratch`` holds their tentative draws on top of
the pool, which it never changes.

A complete plan's R6 key, smaller is better, compared as a tuple:

    (units from future supply, shipments, latest expected date (date.min if none),
     the shipments' (location preference, is_future) pairs, sorted)

— current over future (as few future units as possible: current is always used first,
R5), then fewest shipments, then the earliest date the last future unit arrives, then the
best-placed locations (rank, then id). A shipment is one (location, current|future) group;
future units at one location are drawn from its supplies earliest first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from backorder_worker.domain.inventory import Draw, StockPool

CURRENT, FUTURE = "current", "future"

Source = tuple[bool, str]  # (is_future, location_id)
PlanKey = tuple[int, int, date, tuple[tuple[int, bool], ...]]
Step = tuple[str, bool, str, str, int]  # (line_id, is_future, location_id, sku, units)


@dataclass(frozen=True, slots=True)
class Assignment:
    line_id: str
    draw: Draw


@dataclass(frozen=True, slots=True)
class Plan:
    assignments: tuple[Assignment, ...]
    missing: Mapping[str, int]  # line_id -> units not assigned

    @property
    def is_complete(self) -> bool:
        return not self.missing


def plan_key(
    draws: Iterable[tuple[str, date | None, int]], preference: Mapping[str, int]
) -> PlanKey:
    """The R6 key of a plan given as (location_id, expected_date or None, units) draws."""
    groups: set[Source] = set()
    future_units, latest = 0, date.min
    for loc, expected, units in draws:
        if units <= 0:
            continue
        groups.add((expected is not None, loc))
        if expected is not None:
            future_units += units
            latest = max(latest, expected)
    where = tuple(sorted((preference[loc], fut) for fut, loc in groups))
    return future_units, len(groups), latest, where


@dataclass
class Scratch:
    """Tentative draws on top of the pool while a plan is being built."""

    pool: StockPool
    taken: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))

    def left(self, kind: str, location_id: str, sku: str) -> int:
        have = (self.pool.current if kind == CURRENT else self.pool.future)(location_id, sku)
        return have - self.taken[(kind, location_id, sku)]

    def draws(self, kind: str, location_id: str, sku: str, units: int) -> list[Draw]:
        already = self.taken[(kind, location_id, sku)]
        self.taken[(kind, location_id, sku)] = already + units
        if kind == CURRENT:
            return [Draw(location_id, sku, units)]
        drawn = self.pool.future_draws(location_id, sku, already + units)
        return _skip_units(drawn, already)


def _skip_units(draws: list[Draw], skip: int) -> list[Draw]:
    kept: list[Draw] = []
    for draw in draws:
        cut = min(skip, draw.quantity)
        skip -= cut
        if draw.quantity > cut:
            kept.append(
                Draw(
                    draw.location_id,
                    draw.sku,
                    draw.quantity - cut,
                    draw.supply_id,
                    draw.expected_date,
                )
            )
    return kept
