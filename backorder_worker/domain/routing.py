"""Routing one shipment against a stock pool (R3, R5, R6, R9).

Preference, in this order (R6): current stock over future supply; fewest resulting
shipments (one location over several); earliest expected date; the location's rank; its
id. A bundle (R9) is placed whole, at one location and from one kind of stock. Without
split a shipment goes to one location, all current or all future. The planner only
proposes: it never changes the pool, so a round may keep or discard a plan.

How: one location holding all of it from current stock is the best plan there is, and is
taken at once (the common case). Otherwise a greedy pass (the location that takes most,
repeatedly; bundles first) gives a first plan, and ``route_search`` searches every
complete plan exactly for a better one, within its bounds (at most ``MAX_PARTS`` parts,
``NODE_BUDGET`` nodes): small shipments get the R6-best complete plan whenever one
exists; beyond the bounds, the best found so far, at worst the greedy one. When no plan
can complete the shipment, the greedy partial plan is what a partial release or a
remainder split uses.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from backorder_worker.domain.fences import Eligibility
from backorder_worker.domain.inventory import Draw, StockPool
from backorder_worker.domain.model import Line, Shipment
from backorder_worker.domain.route_search import (
    MAX_PARTS,
    RouteSearch,
    SearchPart,
    Step,
    plan_key,
)

CURRENT, FUTURE = "current", "future"


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


@dataclass(frozen=True, slots=True)
class _Part:
    lines: tuple[Line, ...]
    is_bundle: bool


def parts_of(shipment: Shipment) -> list[_Part]:
    """Bundles (R9) first, in the order of their first line, then every other line."""
    bundles: dict[str, list[Line]] = {}
    loose: list[_Part] = []
    for line in shipment.lines:
        if line.bundle_id is None:
            loose.append(_Part((line,), is_bundle=False))
        else:
            bundles.setdefault(line.bundle_id, []).append(line)
    return [_Part(tuple(lines), is_bundle=True) for lines in bundles.values()] + loose


@dataclass
class _Scratch:
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


class _Planner:
    def __init__(self, shipment: Shipment, eligibility: Eligibility, pool: StockPool) -> None:
        self.parts = parts_of(shipment)
        self.eligibility = eligibility
        self.scratch = _Scratch(pool)
        self.remaining = {line.line_id: line.quantity for line in shipment.lines}
        self.assignments: list[Assignment] = []
        usable = {
            location_id
            for sku in shipment.skus
            for location_id in pool.locations_with(sku)
            if eligibility.is_eligible(location_id, sku)
        }
        self.locations = sorted(usable, key=eligibility.preference.__getitem__)

    def fill(self, kind: str, location_id: str, commit: bool) -> tuple[int, date | None]:
        """Units the location can take of what remains, and the latest date that uses."""
        saved = dict(self.scratch.taken)
        units, latest, planned = 0, None, []
        for part in self.parts:
            lines = [ln for ln in part.lines if self.remaining[ln.line_id] > 0]
            if not lines or not all(
                self.eligibility.is_eligible(location_id, ln.sku) for ln in lines
            ):
                continue
            if part.is_bundle and not self._fits_whole(kind, location_id, lines):
                continue
            for line in lines:
                take = min(
                    self.remaining[line.line_id], self.scratch.left(kind, location_id, line.sku)
                )
                if take <= 0:
                    continue
                for draw in self.scratch.draws(kind, location_id, line.sku, take):
                    planned.append(Assignment(line.line_id, draw))
                    if draw.expected_date is not None:
                        latest = max(latest or draw.expected_date, draw.expected_date)
                units += take
        if commit:
            self.assignments.extend(planned)
            for a in planned:
                self.remaining[a.line_id] -= a.draw.quantity
        else:
            self.scratch.taken = defaultdict(int, saved)
        return units, latest

    def _fits_whole(self, kind: str, location_id: str, lines: list[Line]) -> bool:
        need: dict[str, int] = defaultdict(int)
        for line in lines:
            need[line.sku] += self.remaining[line.line_id]
        return all(self.scratch.left(kind, location_id, s) >= n for s, n in need.items())

    @property
    def outstanding(self) -> int:
        return sum(self.remaining.values())

    def plan(self) -> Plan:
        missing = {line_id: n for line_id, n in self.remaining.items() if n > 0}
        return Plan(tuple(self.assignments), missing)

    def best_single(self, kind: str) -> str | None:
        """The location that takes the most, by earliest date and preference on ties."""
        best: tuple[int, date, int] | None = None
        chosen = None
        for location_id in self.locations:
            units, latest = self.fill(kind, location_id, commit=False)
            key = (-units, latest or date.min, self.eligibility.preference[location_id])
            if units > 0 and (best is None or key < best):
                best, chosen = key, location_id
        return chosen


def plan_shipment(
    shipment: Shipment, eligibility: Eligibility, pool: StockPool, split_allowed: bool
) -> Plan:
    """The R6-best complete plan, else the greedy partial one (see the module docstring)."""
    greedy = _greedy_plan(shipment, eligibility, pool, split_allowed)
    if _is_one_current_shipment(greedy) or not _enough_of_every_sku(shipment, eligibility, pool):
        return greedy  # the best plan there is; or no plan can complete it
    incumbent = None
    if greedy.is_complete:
        draws = [
            (a.draw.location_id, a.draw.expected_date, a.draw.quantity) for a in greedy.assignments
        ]
        incumbent = plan_key(draws, eligibility.preference)
    parts = _search_parts(shipment, split_allowed)
    if len(parts) > MAX_PARTS:
        return greedy
    steps = RouteSearch(parts, eligibility, pool, incumbent).run()
    return greedy if steps is None else _plan_of(steps, pool)


def _greedy_plan(
    shipment: Shipment, eligibility: Eligibility, pool: StockPool, split_allowed: bool
) -> Plan:
    """The planner before the exact search (kept for partial plans, as the search's first
    incumbent, and for bench/bench_core.py): the first location in preference order that
    holds everything from current stock, else the greedy fallback."""
    planner = _Planner(shipment, eligibility, pool)
    total = planner.outstanding
    for location_id in planner.locations:
        if planner.fill(CURRENT, location_id, commit=False)[0] == total:
            planner.fill(CURRENT, location_id, commit=True)
            return planner.plan()
    return _greedy(planner, split_allowed)


def _is_one_current_shipment(plan: Plan) -> bool:
    """Complete from current stock at one location: only ``_greedy_plan``'s first step
    gives that, and it is R6's best (no future units, one shipment, best-placed)."""
    groups = {(a.draw.supply_id, a.draw.location_id) for a in plan.assignments}
    return plan.is_complete and len(groups) == 1 and next(iter(groups))[0] is None


def _greedy(planner: _Planner, split_allowed: bool) -> Plan:
    """The fallback: the location that takes most, repeatedly (current, then future)."""
    total = planner.outstanding
    if not split_allowed:
        future = planner.best_single(FUTURE)
        if future is not None and planner.fill(FUTURE, future, commit=False)[0] == total:
            planner.fill(FUTURE, future, commit=True)
            return planner.plan()
        partial = planner.best_single(CURRENT)
        if partial is not None:
            planner.fill(CURRENT, partial, commit=True)
        return planner.plan()
    for kind in (CURRENT, FUTURE):
        while planner.outstanding:
            best = planner.best_single(kind)
            if best is None:
                break
            planner.fill(kind, best, commit=True)
    return planner.plan()


def _enough_of_every_sku(shipment: Shipment, eligibility: Eligibility, pool: StockPool) -> bool:
    """A cheap necessary condition for a complete plan: eligible units of each SKU."""
    need: dict[str, int] = defaultdict(int)
    for line in shipment.lines:
        need[line.sku] += line.quantity
    return all(
        sum(
            pool.current(loc, sku) + pool.future(loc, sku)
            for loc in pool.locations_with(sku)
            if eligibility.is_eligible(loc, sku)
        )
        >= units
        for sku, units in need.items()
    )


def _search_parts(shipment: Shipment, split_allowed: bool) -> list[SearchPart]:
    """Without split, everything as one whole part; else each bundle whole, and the loose
    lines pooled per SKU (in the order of their first line)."""
    lines = [line for line in shipment.lines if line.quantity > 0]
    if not split_allowed:
        return [SearchPart(tuple(lines), whole=True)] if lines else []
    bundles: dict[str, list[Line]] = {}
    loose: dict[str, list[Line]] = {}
    for line in lines:
        if line.bundle_id is None:
            loose.setdefault(line.sku, []).append(line)
        else:
            bundles.setdefault(line.bundle_id, []).append(line)
    return [SearchPart(tuple(b), whole=True) for b in bundles.values()] + [
        SearchPart(tuple(same), whole=False) for same in loose.values()
    ]


def _plan_of(steps: list[Step], pool: StockPool) -> Plan:
    """A complete plan from the search's steps; supplies drawn earliest first."""
    scratch = _Scratch(pool)
    assignments = [
        Assignment(line_id, draw)
        for line_id, is_future, location_id, sku, units in steps
        for draw in scratch.draws(FUTURE if is_future else CURRENT, location_id, sku, units)
    ]
    return Plan(tuple(assignments), {})
