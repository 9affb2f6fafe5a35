"""``greedy_plan`` answers a shipment no eligible location holds stock for without running
the planner (``nothing_planned``): that answer must be the planner's own, in every world."""

from __future__ import annotations

from hypothesis import given, settings

from backorder_worker.domain.fences import StaticFences
from backorder_worker.domain.future_supply import pool_for
from backorder_worker.domain.route_greedy import _greedy, _Planner, greedy_plan, nothing_planned

from .builders import NOW
from .oracle_worlds import SmallWorld, small_worlds


@settings(max_examples=2_000, deadline=None, derandomize=True)
@given(small_worlds)
def test_greedy_plan_is_the_planners_own_plan_with_or_without_usable_stock(
    world: SmallWorld,
) -> None:
    pool = pool_for(world.current, world.supplies, world.catalog, world.policy, NOW)
    eligibility = StaticFences(world.catalog).evaluate(world.shipment)
    split = world.policy.allows_split(world.shipment)
    planner = _Planner(world.shipment, eligibility, pool)
    full = _greedy(_Planner(world.shipment, eligibility, pool), split)
    if not planner.locations:
        assert full == nothing_planned(world.shipment)
        assert greedy_plan(world.shipment, eligibility, pool, split) == full
