"""What one route search works over, computed once, and the totals it keeps up to date.

A ``SearchPart`` is lines placed together. ``SearchSpace`` holds, for one shipment: the
units left at each eligible source (current and future, per SKU) and the dates future
units arrive; the parts in the order the search places them (bundles, then the lines the
fewest sources hold), with the sources each could use; and, for every suffix of the parts,
what it still needs (loose units pooled per SKU, each whole part with its sources) and the
best-placed source it could open, which the bounds in ``route_bounds`` read. The running
totals (need, current stock left, shortfall, open groups, future units, latest date, the
steps taken) start here; ``route_state`` changes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from backorder_worker.domain.fences import Eligibility
from backorder_worker.domain.inventory import StockPool
from backorder_worker.domain.model import Line
from backorder_worker.domain.route_plan import Source

Taken = tuple[str | int, bool, str, str, int]  # a draw; owner: a line id, or a pooled part's index


@dataclass(frozen=True, slots=True)
class SearchPart:
    """Lines placed together: ``whole`` at one source (a bundle, or everything without
    split), else loose lines of one SKU, pooled: their units may come from any sources,
    and only how many come from each matters, so they are searched as one demand."""

    lines: tuple[Line, ...]
    whole: bool

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)


class SearchSpace:
    """The tables of one search over ``parts``, and its running totals."""

    def __init__(
        self, parts: Sequence[SearchPart], eligibility: Eligibility, pool: StockPool
    ) -> None:
        self.parts = list(parts)
        self.pref = eligibility.preference
        self.left: dict[tuple[bool, str, str], int] = {}
        self.arrivals: dict[tuple[str, str], list[tuple[int, date]]] = {}
        self.need: dict[str, int] = {}
        self.current_left: dict[str, int] = {}
        for part in self.parts:
            for line in part.lines:
                self.need[line.sku] = self.need.get(line.sku, 0) + line.quantity
        for sku in self.need:
            self.current_left[sku] = 0
            here = [loc for loc in pool.locations_with(sku) if eligibility.is_eligible(loc, sku)]
            for loc in sorted(here, key=self.pref.__getitem__):
                current, future = pool.current(loc, sku), pool.future(loc, sku)
                if current > 0:
                    self.left[(False, loc, sku)] = current
                    self.current_left[sku] += current
                if future > 0:
                    self.left[(True, loc, sku)] = future
                    self.arrivals[(loc, sku)] = _arrivals(pool, loc, sku, future)
        # Sources that hold more of the shipment's SKUs are tried first: they tend to give
        # the plans with few groups early, and a good incumbent prunes the most.
        self.breadth: dict[Source, int] = {}
        for fut, loc, _ in self.left:
            self.breadth[(fut, loc)] = self.breadth.get((fut, loc), 0) + 1
        # Most constrained first: bundles, then the lines the fewest sources hold.
        order = sorted(
            range(len(self.parts)),
            key=lambda i: (not self.parts[i].whole, len(self._sources_of(self.parts[i])), i),
        )
        self.parts = [self.parts[i] for i in order]
        self.sources = [self._sources_of(part) for part in self.parts]
        self.sources_of_sku = {
            sku: sorted(
                ((fut, loc) for (fut, loc, held) in self.left if held == sku),
                key=lambda src: (src[0], self.pref[src[1]]),
            )
            for sku in self.need
        }
        # What parts[i:] need, for the bound on groups: loose units pooled per SKU, and
        # each whole part's units with the sources that could take it.
        self.loose_from: list[dict[str, int]] = []
        self.whole_from: list[list[tuple[dict[str, int], list[Source]]]] = []
        loose: dict[str, int] = {}
        whole: list[tuple[dict[str, int], list[Source]]] = []
        for i in range(len(self.parts) - 1, -1, -1):
            part = self.parts[i]
            if part.whole:
                whole = [(need_of(part.lines), self.sources[i]), *whole]
            else:
                sku = part.lines[0].sku
                loose = {**loose, sku: loose.get(sku, 0) + part.units}
            self.loose_from.insert(0, loose)
            self.whole_from.insert(0, whole)
        self.loose_from.append({})
        self.whole_from.append([])
        # The best-placed source any of parts[i:] could use: a floor for a new group.
        self.least_source_from: list[tuple[int, bool]] = []
        least = (len(self.pref), True)
        for sources in reversed(self.sources):
            least = min([least, *((self.pref[loc], fut) for fut, loc in sources)])
            self.least_source_from.insert(0, least)
        self.group_units: dict[Source, int] = {}
        self.future_units, self.latest = 0, date.min
        self.shortfall = sum(map(self._shortfall_of, self.need))
        self.all_sources = sorted({(fut, loc) for fut, loc, _ in self.left})
        self.steps: list[Taken] = []

    def _sources_of(self, part: SearchPart) -> list[Source]:
        skus = {line.sku for line in part.lines}
        found = {(fut, loc) for (fut, loc, sku) in self.left if sku in skus}
        usable = [src for src in found if all((*src, sku) in self.left for sku in skus)]
        return sorted(usable, key=lambda src: (src[0], -self.breadth[src], self.pref[src[1]]))

    def _shortfall_of(self, sku: str) -> int:
        return max(0, self.need[sku] - self.current_left[sku])


def need_of(lines: Sequence[Line]) -> dict[str, int]:
    need: dict[str, int] = {}
    for line in lines:
        need[line.sku] = need.get(line.sku, 0) + line.quantity
    return need


def _arrivals(pool: StockPool, loc: str, sku: str, units: int) -> list[tuple[int, date]]:
    """(units available up to and including this supply, its date), earliest first."""
    total, out = 0, []
    for draw in pool.future_draws(loc, sku, units):
        total += draw.quantity
        assert draw.expected_date is not None
        out.append((total, draw.expected_date))
    return out
