"""Routing one shipment against a stock pool (R3, R5, R6, R9).

Preference, in this order (R6): current stock over future supply; fewest resulting
shipments (one location over several); earliest expected date; the location's rank; its
id. A bundle (R9) is placed whole, at one location and from one kind of stock. Without
split a shipment goes to one location, all current or all future. The planner only
proposes: it never changes the pool, so a round may keep or discard a plan.

How: one location holding all of it from current stock is the best plan there is, and is
taken at once (the common case). Otherwise a greedy pass (``route_greedy``: the location
that takes most, repeatedly; bundles first) gives a first plan, and ``route_search``
searches every complete plan exactly for a better one, within its bounds (at most
``MAX_PARTS`` parts, ``NODE_BUDGET`` nodes): small shipments get the R6-best complete plan
whenever one exists; beyond the bounds, the best found so far, at worst the greedy one.
When no plan can complete the shipment, the greedy partial plan is what a partial release
or a remainder split uses. What a plan is, and the R6 key, live in ``route_plan``.
"""

from __future__ import annotations

from collections import defaultdict

from backorder_worker.domain.fences import Eligibility
from backorder_worker.domain.inventory import StockPool
from backorder_worker.domain.model import Line, Shipment
from backorder_worker.domain.route_greedy import greedy_plan, is_one_current_shipment
from backorder_worker.domain.route_plan import (
    CURRENT,
    FUTURE,
    Assignment,
    Plan,
    Scratch,
    Step,
    plan_key,
)
from backorder_worker.domain.route_search import MAX_PARTS, RouteSearch
from backorder_worker.domain.route_space import SearchPart

_greedy_plan = greedy_plan  # the name bench/bench_core.py imports it by


def plan_shipment(
    shipment: Shipment, eligibility: Eligibility, pool: StockPool, split_allowed: bool
) -> Plan:
    """The R6-best complete plan, else the greedy partial one (see the module docstring)."""
    greedy = greedy_plan(shipment, eligibility, pool, split_allowed)
    if is_one_current_shipment(greedy) or not _enough_of_every_sku(shipment, eligibility, pool):
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
    scratch = Scratch(pool)
    assignments = [
        Assignment(line_id, draw)
        for line_id, is_future, location_id, sku, units in steps
        for draw in scratch.draws(FUTURE if is_future else CURRENT, location_id, sku, units)
    ]
    return Plan(tuple(assignments), {})
