"""The planner against the independent oracle (issue 11): over small random worlds the
core completes a shipment whenever some plan does, with the plan R6 prefers.

The oracle (``tests/oracle``) enumerates every plan; it shares no code with the core.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, example, given, settings

from backorder_worker.domain.fences import StaticFences
from backorder_worker.domain.future_supply import pool_for
from backorder_worker.domain.model import (
    Candidate,
    Catalog,
    FulfillmentType,
    Line,
    Listing,
    Location,
    Origin,
    OutOfStockBehaviour,
    ReleasePolicy,
    Shipment,
)
from backorder_worker.domain.outcomes import ShipmentReleased
from backorder_worker.domain.routing import plan_shipment
from tests.oracle.check import plan_problems
from tests.oracle.from_model import (
    assignments_from_model,
    draws_from_model,
    shipment_from_model,
    world_from_model,
)
from tests.oracle.search import best_plan_key, key_of
from tests.rounds import decide_round

from .builders import BACKORDERED_AT, NOW, TRIGGER
from .oracle_worlds import SmallWorld, small_worlds


def oracle_examples() -> int:
    return max(10_000, settings.default.max_examples)


NIGHTLY = os.environ.get("HYPOTHESIS_PROFILE") == "nightly"
# In `make test` the same 10,000 worlds every run, so that a submission is never blocked at
# random; the nightly profile draws new ones each night.
ORACLE = settings(
    max_examples=oracle_examples(),
    deadline=None,
    derandomize=not NIGHTLY,
    suppress_health_check=[HealthCheck.too_slow],
)

BK = OutOfStockBehaviour.BACKORDER
BUNDLE_AFTER_LOOSE = SmallWorld(
    Catalog(
        {"L0": Location("L0"), "L1": Location("L1")},
        {("K0", None): Listing("K0", BK), ("K1", None): Listing("K1", BK)},
    ),
    {("L0", "K0"): 1, ("L0", "K1"): 1, ("L1", "K0"): 1},
    [],
    Shipment(
        "S",
        "O",
        FulfillmentType.STH,
        (Line("S-0", "K0", 1), Line("S-1", "K0", 1, "B1"), Line("S-2", "K1", 1, "B1")),
    ),
    ReleasePolicy(),
)


def _core_plan(world: SmallWorld):  # type: ignore[no-untyped-def]
    eligibility = StaticFences(world.catalog).evaluate(world.shipment)
    pool = pool_for(world.current, world.supplies, world.catalog, world.policy, NOW)
    split = world.policy.allows_split(world.shipment)
    return plan_shipment(world.shipment, eligibility, pool, split)


@ORACLE
@example(BUNDLE_AFTER_LOOSE)
@given(small_worlds)
def test_the_planner_and_a_round_complete_whenever_some_plan_does_with_the_r6_best(
    world: SmallWorld,
) -> None:
    """One test, so that 10,000 worlds are generated once: the planner's plan, then the
    decision of a round with the shipment as its only candidate, arriving and waiting."""
    oworld = world_from_model(world.catalog, world.current, world.supplies, world.policy, NOW)
    oshipment = shipment_from_model(world.shipment, world.policy)
    best = best_plan_key(oworld, oshipment)
    plan = _core_plan(world)
    pairs = assignments_from_model((a.line_id, a.draw) for a in plan.assignments)
    assert plan_problems(oworld, oshipment, pairs) == []
    assert plan.is_complete == (best is not None)
    if best is not None:
        assert key_of(oworld, draws_from_model(a.draw for a in plan.assignments)) == best
    for origin in Origin:
        pool = pool_for(world.current, world.supplies, world.catalog, world.policy, NOW)
        backordered = BACKORDERED_AT if origin is Origin.WAITING else None
        candidate = Candidate(world.shipment, BACKORDERED_AT, origin, backordered)
        decisions = decide_round([candidate], world.catalog, world.policy, pool, NOW, TRIGGER)
        whole = [
            d
            for d in decisions
            if isinstance(d, ShipmentReleased) and d.split_off is None and not d.short_lines
        ]
        assert bool(whole) == (best is not None), origin
        if whole:
            assert key_of(oworld, draws_from_model(whole[0].draws)) == best, origin
