"""The exact planner: branch and bound over every complete plan of a shipment (R6, R9).

The search places the parts in order, most constrained first: a *whole* part (a bundle,
or the whole shipment without split) at one source that holds all of it; the loose lines
of a SKU, pooled, spread by quantity over any sources. The bounds of ``route_bounds``
prune a path whose every completion is worse than the incumbent (plans compare by their
R6 key, see ``route_plan``). The greedy plan is the first incumbent, so the search only
ever returns something better. The tables it works over are ``route_space``'s; drawing
and undoing a placement is ``route_state``'s.

Bounds: a shipment of more than ``MAX_PARTS`` parts is not searched (the greedy plan
stands); a search visits at most ``NODE_BUDGET`` nodes (a node is one placement tried),
and past it returns the best plan found so far (the greedy one if none is better). Both
are counts, not clocks, so the result stays deterministic (I4). The oracle's worlds (up to
6 lines over 4 locations) need at most about 1,200 nodes and are exact; docs/performance.md
has what the search costs and where it stops.
"""

from __future__ import annotations

from collections.abc import Sequence

from backorder_worker.domain.fences import Eligibility
from backorder_worker.domain.inventory import StockPool
from backorder_worker.domain.route_bounds import SearchBounds
from backorder_worker.domain.route_plan import PlanKey, Source, Step
from backorder_worker.domain.route_space import SearchPart, Taken

NODE_BUDGET = 4_000
MAX_PARTS = 12  # more parts (bundles, and loose SKUs) than this: no search, greedy only


class _OutOfBudget(Exception):
    pass


class RouteSearch(SearchBounds):
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
        super().__init__(parts, eligibility, pool)
        self.best_key = incumbent
        self.best_steps: list[Taken] | None = None
        self.budget, self.nodes, self.finished = budget, 0, False

    def run(self) -> list[Step] | None:
        try:
            self._place(0)
            self.finished = True
        except _OutOfBudget:
            pass
        return None if self.best_steps is None else self._by_line(self.best_steps)

    def _by_line(self, taken: list[Taken]) -> list[Step]:
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
