"""The planner's exact search (issue 11, defects 1 and 2): plans the greedy missed, the R6
key it minimises, and its bounds (the budget and the part limit keep the greedy plan)."""

from __future__ import annotations

from collections.abc import Mapping

from backorder_worker.domain.fences import StaticFences
from backorder_worker.domain.future_supply import pool_for
from backorder_worker.domain.inventory import Supply
from backorder_worker.domain.model import Catalog, Line, ReleasePolicy, Shipment
from backorder_worker.domain.route_greedy import greedy_plan
from backorder_worker.domain.route_plan import Plan
from backorder_worker.domain.route_search import MAX_PARTS, RouteSearch
from backorder_worker.domain.route_space import SearchPart
from backorder_worker.domain.routing import plan_shipment

from .builders import NOW, TODAY, arriving, catalog, decide, line, released, shipment, supply


def plan(
    s: Shipment,
    current: Mapping[tuple[str, str], int],
    cat: Catalog | None = None,
    supplies: tuple[Supply, ...] = (),
    split: bool = True,
) -> Plan:
    cat = cat or catalog(locations=("A", "B", "C"), backorder=("X", "Y", "U1", "U2", "U3"))
    pool = pool_for(current, supplies, cat, ReleasePolicy(), NOW)
    return plan_shipment(s, StaticFences(cat).evaluate(s), pool, split)


def where(p: Plan) -> dict[str, set[tuple[str, bool]]]:
    out: dict[str, set[tuple[str, bool]]] = {}
    for a in p.assignments:
        out.setdefault(a.line_id, set()).add((a.draw.location_id, a.draw.supply_id is not None))
    return out


def test_a_loose_line_goes_elsewhere_so_that_a_later_bundle_fits() -> None:
    s = shipment("S", line("X", 1), line("X", 1, bundle="b"), line("Y", 1, bundle="b"))
    p = plan(s, {("A", "X"): 1, ("A", "Y"): 1, ("B", "X"): 1})
    assert p.is_complete
    assert where(p) == {"S-1": {("B", False)}, "S-2": {("A", False)}, "S-3": {("A", False)}}


def test_an_arriving_shipment_with_that_bundle_is_released_whole_not_split() -> None:
    s = shipment("S", line("X", 1), line("X", 1, bundle="b"), line("Y", 1, bundle="b"))
    stock = {("A", "X"): 1, ("A", "Y"): 1, ("B", "X"): 1}
    decisions = decide([arriving(s)], catalog(backorder=("X", "Y")), stock)
    release = released(decisions)["S"]
    assert release.split_off is None and not release.short_lines
    assert {child.location_id for child in release.shipments} == {"A", "B"}


def test_two_locations_cover_what_the_greedy_spreads_over_three() -> None:
    skus = ("U1", "U2", "U3", "X", "Y", "Z")
    cat = catalog(locations=("A", "B", "C"), backorder=skus)
    stock = {("A", sku): 1 for sku in ("U1", "U2", "X", "Y")}
    stock |= {("B", sku): 1 for sku in ("U1", "U2", "U3")}
    stock |= {("C", sku): 1 for sku in ("X", "Y", "Z")}
    s = shipment("S", *(line(sku, 1) for sku in skus))
    assert len({loc for loc, _ in _groups(_greedy_plan_of(s, stock, cat))}) == 3
    assert _groups(plan(s, stock, cat)) == {("B", False), ("C", False)}


def test_current_stock_comes_first_even_at_the_cost_of_a_second_shipment() -> None:
    po = (supply("P1", "A", "X", 2, TODAY),)
    p = plan(shipment("S", line("X", 2)), {("A", "X"): 1}, supplies=po)
    assert _groups(p) == {("A", False), ("A", True)}
    whole = plan(shipment("S", line("X", 2)), {("A", "X"): 1}, supplies=po, split=False)
    assert _groups(whole) == {("A", True)}


def test_among_equal_plans_the_best_placed_locations_win() -> None:
    stock = {(loc, sku): 1 for loc in "ABC" for sku in "XY"}
    p = plan(shipment("S", line("X", 2), line("Y", 2)), stock)
    assert _groups(p) == {("A", False), ("B", False)}


def test_a_search_cut_by_its_budget_returns_nothing_better_and_says_so() -> None:
    cat = catalog(locations=("A", "B", "C"), backorder=("X", "Y"))
    s = shipment("S", line("X", 1), line("Y", 1))
    pool = pool_for({("A", "X"): 1, ("B", "Y"): 1, ("C", "X"): 1}, (), cat, ReleasePolicy(), NOW)
    parts = [SearchPart((ln,), whole=False) for ln in s.lines]
    eligibility = StaticFences(cat).evaluate(s)
    cut = RouteSearch(parts, eligibility, pool, incumbent=None, budget=1)
    assert cut.run() is None and not cut.finished
    full = RouteSearch(parts, eligibility, pool, incumbent=None)
    assert sorted(full.run() or []) == [("S-1", False, "A", "X", 1), ("S-2", False, "B", "Y", 1)]
    assert full.finished


def test_a_shipment_of_more_parts_than_the_bound_keeps_the_greedy_plan() -> None:
    skus = tuple(f"K{i}" for i in range(MAX_PARTS + 1))
    cat = catalog(locations=("A", "B"), backorder=skus)
    stock = {("A", sku): 1 for sku in skus[:-1]} | {("B", sku): 1 for sku in skus}
    stock[("A", skus[-1])] = 1
    del stock[("A", skus[0])]
    s = shipment("S", *(line(sku, 1) for sku in skus))
    assert plan(s, stock, cat) == _greedy_plan_of(s, stock, cat)


def test_the_same_inputs_give_the_same_plan() -> None:
    skus = tuple(f"K{i}" for i in range(6))
    cat = catalog(locations=tuple("ABCDEFGH"), backorder=skus)
    stock = {
        (loc, sku): (i + j) % 3 for i, loc in enumerate("ABCDEFGH") for j, sku in enumerate(skus)
    }
    s = shipment("S", *(Line(f"S-{i}", skus[i % 6], 1 + i % 3) for i in range(10)))
    first = plan(s, stock, cat)
    assert first.is_complete
    assert all(plan(s, dict(reversed(stock.items())), cat) == first for _ in range(3))


def _greedy_plan_of(s: Shipment, stock: Mapping[tuple[str, str], int], cat: Catalog) -> Plan:
    pool = pool_for(stock, (), cat, ReleasePolicy(), NOW)
    return greedy_plan(s, StaticFences(cat).evaluate(s), pool, True)


def _groups(p: Plan) -> set[tuple[str, bool]]:
    return {(a.draw.location_id, a.draw.supply_id is not None) for a in p.assignments}
