"""The greedy planner: the route a shipment gets before (or instead of) the exact search.

The first location in preference order that holds everything from current stock wins at
once (the common case, and R6's best plan). Otherwise the location that takes the most,
repeatedly, current stock before future supply, bundles (R9) placed whole; without split
the shipment goes to one location, all current or all future. Its plan is the exact
search's first incumbent, and, when no plan can complete the shipment, the partial plan a
partial release or a remainder split uses.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from backorder_worker.domain.fences import Eligibility
from backorder_worker.domain.inventory import StockPool
from backorder_worker.domain.model import Line, Shipment
from backorder_worker.domain.route_plan import CURRENT, FUTURE, Assignment, Plan, Scratch


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


class _Planner:
    def __init__(self, shipment: Shipment, eligibility: Eligibility, pool: StockPool) -> None:
        self.parts = parts_of(shipment)
        self.eligibility = eligibility
        self.scratch = Scratch(pool)
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


def greedy_plan(
    shipment: Shipment, eligibility: Eligibility, pool: StockPool, split_allowed: bool
) -> Plan:
    """The planner before the exact search (kept for partial plans, as the search's first
    incumbent, and for bench/bench_core.py): the first location in preference order that
    holds everything from current stock, else the greedy fallback."""
    if not _any_usable(shipment, eligibility, pool):
        return nothing_planned(shipment)
    planner = _Planner(shipment, eligibility, pool)
    total = planner.outstanding
    for location_id in planner.locations:
        if planner.fill(CURRENT, location_id, commit=False)[0] == total:
            planner.fill(CURRENT, location_id, commit=True)
            return planner.plan()
    return _greedy(planner, split_allowed)


def _any_usable(shipment: Shipment, eligibility: Eligibility, pool: StockPool) -> bool:
    """Whether some eligible location holds free units of one of its SKUs: exactly when
    ``_Planner.locations`` is not empty."""
    return any(
        eligibility.is_eligible(location_id, sku)
        for sku in shipment.skus
        for location_id in pool.locations_with(sku)
    )


def nothing_planned(shipment: Shipment) -> Plan:
    """The plan ``_Planner`` gives when no location is usable (most intakes of a room whose
    SKUs are out of stock): the first-location loop and every ``best_single`` of
    ``_greedy`` run over no location, so nothing is assigned and every line is missing,
    as ``_Planner.remaining`` starts and ``_Planner.plan`` reads it."""
    remaining = {line.line_id: line.quantity for line in shipment.lines}
    return Plan((), {line_id: n for line_id, n in remaining.items() if n > 0})


def is_one_current_shipment(plan: Plan) -> bool:
    """Complete from current stock at one location: only ``greedy_plan``'s first step
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
