"""The bounds that prune a route search: what any completion of a path must at least cost.

Each bound only grows along a path, so a path whose bound is already worse than the
incumbent (the best plan found so far, by its R6 key) cannot lead to a better one: the
future units drawn plus the need no current stock left can cover; the groups open plus
those the remaining parts still force open (0, 1, or 2 and more, counted on a relaxation
that pools loose units per SKU), and with them the best groups tuple reachable; the
latest date so far. Without an incumbent, ``_rest_fits`` tells whether the remaining
parts could fit even all sources, so dead ends end early.
"""

from __future__ import annotations

from backorder_worker.domain.route_plan import PlanKey, Source
from backorder_worker.domain.route_state import SearchState


class SearchBounds(SearchState):
    """A ``SearchState`` that can tell when a path cannot beat ``best_key``."""

    best_key: PlanKey | None

    def _future_floor(self) -> int:
        """Future units every completion must draw: those drawn, and the need that the
        current stock left cannot cover (kept up to date by ``_draw`` and ``_undo``)."""
        return self.future_units + self.shortfall

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
