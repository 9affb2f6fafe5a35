"""Drawing and undoing one placement in a route search, and the groups it opens.

A draw takes units of a SKU from one source (a location's current stock, or its future
supply, earliest first) for a line or a pooled part, and moves every running total of
``SearchSpace`` with it: the units left, the need, the current stock left and with them
the shortfall, the open groups and their units, the future units and the latest date.
``_undo`` puts back the last draw exactly, so the search can backtrack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from backorder_worker.domain.model import Line
from backorder_worker.domain.route_plan import Source
from backorder_worker.domain.route_space import SearchSpace, need_of


class SearchState(SearchSpace):
    """A ``SearchSpace`` that draws and undoes placements."""

    def _open_first(self, sources: list[Source]) -> list[Source]:
        opened = [s for s in sources if s in self.group_units]
        return opened + [s for s in sources if s not in self.group_units]

    def _fits(self, src: Source, lines: Sequence[Line]) -> bool:
        return self._holds(src, need_of(lines))

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


def _date_of_unit(arrivals: list[tuple[int, date]], unit: int) -> date:
    """The date the ``unit``-th unit (1-based) arrives, supplies drawn earliest first."""
    for upto, when in arrivals:
        if unit <= upto:
            return when
    return arrivals[-1][1]
