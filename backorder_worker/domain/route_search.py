"""The exact planner: branch and bound over every complete plan of a shipment (R6, R9).

A plan's R6 key, smaller is better, compared as a tuple:

    (units from future supply, shipments, latest expected date (date.min if none),
     the shipments' (location preference, is_future) pairs, sorted)

— current over future (as few future units as possible: current is always used first,
R5), then fewest shipments, then the earliest date the last future unit arrives, then the
best-placed locations (rank, then id). A shipment is one (location, current|future) group;
future units at one location are drawn from its supplies earliest first.

The search places the parts in order, most constrained first: a *whole* part (a bundle,
or the whole shipment without split) at one source that holds all of it; the loose lines
of a SKU, pooled, spread by quantity over any sources. Bounds that only grow along a path
prune it: the future units drawn plus the need no current stock left can cover; the
groups open plus those the remaining parts still force open (0, 1, or 2 and more, counted
on a relaxation that pools loose units per SKU), and with them the best groups tuple
reachable; the latest date so far. Without an incumbent, a part boundary whose remaining
parts could not fit even all sources ends the path. The greedy plan is the first
incumbent, so the search only ever returns something better.

Bounds: a shipment of more than ``MAX_PARTS`` parts is not searched (the greedy plan
stands); a search visits at most ``NODE_BUDGET`` nodes (a node is one placement tried),
and past it returns the best plan found so far (the greedy one if none is better). Both
are counts, not clocks, so the result stays deterministic (I4). The oracle's worlds (up to
6 lines over 4 locations) need at most about 1,200 nodes and are exact; docs/performance.md
has what the search costs and where it stops.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from backorder_worker.domain.fences import Eligibility
from backorder_worker.domain.inventory import StockPool
from backorder_worker.domain.model import Line

NODE_BUDGET = 4_000
MAX_PARTS = 12  # more parts (bundles, and loose SKUs) than this: no search, greedy only

Source = tuple[bool, str]  # (is_future, location_id)
PlanKey = tuple[int, int, date, tuple[tuple[int, bool], ...]]
Step = tuple[str, bool, str, str, int]  # (line_id, is_future, location_id, sku, units)
_Taken = tuple[str | int, bool, str, str, int]  # owner: a line id, or a loose part's index


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


class _OutOfBudget(Exception):
    pass


class RouteSearch:
    """One search; ``run`` returns the best plan's steps, or None if none beats the
    incumbent. ``finished`` tells whether it was exhaustive (else the budget cut it)."""

    def __init__(
        self,
        parts: Sequence[SearchPart],
        eligibility: Eligibility,
        pool: StockPool,
        incumbent: PlanKey | None,
        budget: int = NODE_BUDGET,
    ) -> None:
        self.parts = list(parts)
        self.pref = eligibility.preference
        self.best_key: PlanKey | None = incumbent
        self.best_steps: list[_Taken] | None = None
        self.budget, self.nodes, self.finished = budget, 0, False
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
                whole = [(_need_of(part.lines), self.sources[i]), *whole]
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
        self.steps: list[_Taken] = []

    def _sources_of(self, part: SearchPart) -> list[Source]:
        skus = {line.sku for line in part.lines}
        found = {(fut, loc) for (fut, loc, sku) in self.left if sku in skus}
        usable = [src for src in found if all((*src, sku) in self.left for sku in skus)]
        return sorted(usable, key=lambda src: (src[0], -self.breadth[src], self.pref[src[1]]))

    def run(self) -> list[Step] | None:
        try:
            self._place(0)
            self.finished = True
        except _OutOfBudget:
            pass
        return None if self.best_steps is None else self._by_line(self.best_steps)

    def _by_line(self, taken: list[_Taken]) -> list[Step]:
        """A pooled part's units handed to its lines in line order."""
        steps: list[Step] = []
        left_of = {ln.line_id: ln.quantity for part in self.parts for ln in part.lines}
        for owner, is_future, loc, sku, units in taken:
            if isinstance(owner, str):
                steps.append((owner, is_future, loc, sku, units))
                continue
            for line in self.parts[owner].lines:
                share = min(units, left_of[line.line_id])
                if share:
                    steps.append((line.line_id, is_future, loc, sku, share))
                    left_of[line.line_id] -= share
                    units -= share
        return steps

    # --- the search ------------------------------------------------------------------

    def _tick(self) -> None:
        self.nodes += 1
        if self.nodes > self.budget:
            raise _OutOfBudget

    def _place(self, i: int) -> None:
        self._tick()
        if i == len(self.parts):
            self._leaf()
            return
        if self._hopeless() or self._cannot_afford_its_groups(i):
            return
        if self.best_key is None and not self._rest_fits(i, self.all_sources):
            return  # without an incumbent nothing else prunes: cut dead ends early
        part = self.parts[i]
        ordered = self._open_first(self.sources[i])
        if part.whole:
            for src in ordered:
                if self._fits(src, part.lines):
                    saved = self.latest
                    for line in part.lines:
                        self._draw(line.line_id, line.sku, src, line.quantity)
                    self._place(i + 1)
                    for _ in part.lines:
                        self._undo(saved)
            return
        # A loose part comes after every whole part and holds all the loose units of its
        # SKU, so nothing placed later draws that SKU: what matters is only which groups
        # it opens and the future units it takes (and their dates), not how its current
        # units share out among the groups it uses. Hence: current sources first, each
        # taking all it can or nothing; and if the open groups' current stock covers the
        # part, one way to take it from there, as opening or using more is never better.
        sku = part.lines[0].sku
        held = [src for src in ordered if self.left[(*src, sku)] > 0]
        spread = [src for src in held if not src[0]] + [src for src in held if src[0]]
        at_hand = [src for src in spread if not src[0] and src in self.group_units]
        if sum(self.left[(*src, sku)] for src in at_hand) >= part.units:
            self._take_in_order(i, sku, part.units, at_hand)
            return
        suffix = [0] * (len(spread) + 1)
        for j in range(len(spread) - 1, -1, -1):
            suffix[j] = suffix[j + 1] + self.left[(*spread[j], sku)]
        self._spread(i, sku, part.units, spread, suffix, 0)

    def _spread(
        self, i: int, sku: str, units: int, spread: list[Source], suffix: list[int], j: int
    ) -> None:
        """Every way to take ``units`` of part i from ``spread[j:]``, most first: all or
        nothing from a current source, any amount from a future one (dates differ)."""
        if units == 0:
            self._place(i + 1)
            return
        if suffix[j] < units:
            return
        self._tick()
        if self._hopeless():
            return
        src = spread[j]
        most = min(units, self.left[(*src, sku)])
        for take in range(most, -1, -1) if src[0] else (most, 0):
            if take:
                saved = self.latest
                self._draw(i, sku, src, take)
                self._spread(i, sku, units - take, spread, suffix, j + 1)
                self._undo(saved)
            else:
                self._spread(i, sku, units, spread, suffix, j + 1)

    def _take_in_order(self, i: int, sku: str, units: int, sources: list[Source]) -> None:
        saved, drawn = self.latest, 0
        for src in sources:
            take = min(units, self.left[(*src, sku)])
            if take:
                self._draw(i, sku, src, take)
                drawn, units = drawn + 1, units - take
        self._place(i + 1)
        for _ in range(drawn):
            self._undo(saved)

    def _leaf(self) -> None:
        key = (len(self.group_units), self._groups())
        full: PlanKey = (self.future_units, key[0], self.latest, key[1])
        if self.best_key is None or full < self.best_key:
            self.best_key, self.best_steps = full, list(self.steps)

    # --- bounds ----------------------------------------------------------------------

    def _future_floor(self) -> int:
        """Future units every completion must draw: those drawn, and the need that the
        current stock left cannot cover (kept up to date by ``_draw`` and ``_undo``)."""
        return self.future_units + self.shortfall

    def _shortfall_of(self, sku: str) -> int:
        return max(0, self.need[sku] - self.current_left[sku])

    def _hopeless(self) -> bool:
        if self.best_key is None:
            return False
        head = (self._future_floor(), len(self.group_units), self.latest)
        best = self.best_key
        if head != best[:3]:
            return head > best[:3]
        # Equal so far: only a plan opening no new group can tie, and it keeps our groups.
        return self._groups() >= best[3]

    def _cannot_afford_its_groups(self, i: int) -> bool:
        """When the incumbent has as few future units as any completion can, count the
        groups parts[i:] still force open (0, 1, or 2 for "two or more") and, if that
        reaches the incumbent's count, a floor for the groups tuple they could end with."""
        best = self.best_key
        if best is None:
            return False
        floor, opened = self._future_floor(), len(self.group_units)
        if floor != best[0] or opened + 2 < best[1]:
            return False
        extra, candidates = self._extra_groups(i)
        if opened + extra != best[1]:
            return opened + extra > best[1]
        if extra == 0:
            least = self._groups()
        elif extra == 1:
            least = min(self._groups_with(src) for src in candidates)
        else:  # one of the blockers' sources and one more, each at best the least there is
            first = min((self.pref[loc], fut) for fut, loc in candidates)
            least = tuple(sorted([*self._groups(), first, self.least_source_from[i]]))
        return (floor, best[1], self.latest, least) >= best

    def _extra_groups(self, i: int) -> tuple[int, list[Source]]:
        """How many groups parts[i:] need beyond the open ones (2 means "two or more"),
        with the sources that could be the one (or, for two, one of them). Pools loose
        lines per SKU, so it never counts more than a completion needs."""
        opened = list(self.group_units)
        unplaced = [
            (need, sources)
            for need, sources in self.whole_from[i]
            if not any(self._holds(src, need) for src in opened)
        ]
        gaps = {}
        for sku, units in self.loose_from[i].items():
            gap = units - sum(self.left.get((*src, sku), 0) for src in opened)
            if gap > 0:
                gaps[sku] = gap
        if not unplaced and not gaps:
            return 0, []
        blockers = unplaced[0][1] if unplaced else self.sources_of_sku[next(iter(gaps))]
        blockers = [src for src in blockers if src not in self.group_units]
        candidates = [
            src
            for src in blockers
            if self._holds(src, gaps) and all(self._holds(src, need) for need, _ in unplaced)
        ]
        return (1, candidates) if candidates else (2, blockers)

    def _rest_fits(self, i: int, groups: list[Source]) -> bool:
        for need, _ in self.whole_from[i]:
            if not any(self._holds(src, need) for src in groups):
                return False
        return all(
            sum(self.left.get((*src, sku), 0) for src in groups) >= units
            for sku, units in self.loose_from[i].items()
        )

    # --- state -----------------------------------------------------------------------

    def _open_first(self, sources: list[Source]) -> list[Source]:
        opened = [s for s in sources if s in self.group_units]
        return opened + [s for s in sources if s not in self.group_units]

    def _fits(self, src: Source, lines: Sequence[Line]) -> bool:
        return self._holds(src, _need_of(lines))

    def _holds(self, src: Source, need: Mapping[str, int]) -> bool:
        return all(self.left.get((*src, sku), 0) >= units for sku, units in need.items())

    def _draw(self, owner: str | int, sku: str, src: Source, units: int) -> None:
        is_future, loc = src
        key = (is_future, loc, sku)
        self.left[key] -= units
        self.group_units[src] = self.group_units.get(src, 0) + units
        if is_future:
            self.shortfall -= self._shortfall_of(sku)
            self.need[sku] -= units
            self.shortfall += self._shortfall_of(sku)
            self.future_units += units
            drawn = self.arrivals[(loc, sku)][-1][0] - self.left[key]
            self.latest = max(self.latest, _date_of_unit(self.arrivals[(loc, sku)], drawn))
        else:  # need and current stock fall together: the shortfall stays
            self.need[sku] -= units
            self.current_left[sku] -= units
        self.steps.append((owner, is_future, loc, sku, units))

    def _undo(self, latest: date) -> None:
        _, is_future, loc, sku, units = self.steps.pop()
        src = (is_future, loc)
        self.left[(is_future, loc, sku)] += units
        self.group_units[src] -= units
        if not self.group_units[src]:
            del self.group_units[src]
        if is_future:
            self.shortfall -= self._shortfall_of(sku)
            self.need[sku] += units
            self.shortfall += self._shortfall_of(sku)
            self.future_units -= units
        else:
            self.need[sku] += units
            self.current_left[sku] += units
        self.latest = latest

    def _groups(self) -> tuple[tuple[int, bool], ...]:
        return tuple(sorted((self.pref[loc], fut) for fut, loc in self.group_units))

    def _groups_with(self, src: Source) -> tuple[tuple[int, bool], ...]:
        return tuple(sorted([*self._groups(), (self.pref[src[1]], src[0])]))


def _need_of(lines: Sequence[Line]) -> dict[str, int]:
    need: dict[str, int] = {}
    for line in lines:
        need[line.sku] = need.get(line.sku, 0) + line.quantity
    return need


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


def _arrivals(pool: StockPool, loc: str, sku: str, units: int) -> list[tuple[int, date]]:
    """(units available up to and including this supply, its date), earliest first."""
    total, out = 0, []
    for draw in pool.future_draws(loc, sku, units):
        total += draw.quantity
        assert draw.expected_date is not None
        out.append((total, draw.expected_date))
    return out


def _date_of_unit(arrivals: list[tuple[int, date]], unit: int) -> date:
    """The date the ``unit``-th unit (1-based) arrives, supplies drawn earliest first."""
    for upto, when in arrivals:
        if unit <= upto:
            return when
    return arrivals[-1][1]
