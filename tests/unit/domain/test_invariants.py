"""Property tests of the invariants of SPEC §2 over random worlds: I1 to I4.

I3 is checked against the same planner on the stock the round left (the planner is a
deterministic heuristic; ``test_planner_completeness`` checks it is exact where it can be).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from backorder_worker.domain.fences import StaticFences
from backorder_worker.domain.future_supply import is_usable_supply, pool_for
from backorder_worker.domain.model import Catalog, Origin, PartialRelease, ReleasePolicy
from backorder_worker.domain.outcomes import (
    Decision,
    ShipmentReleased,
    ShipmentUnroutable,
    WaitState,
)
from backorder_worker.domain.routing import plan_shipment
from tests.rounds import decide_round

from .builders import NOW, TRIGGER
from .strategies import World, policies, worlds

PROPERTY = settings(max_examples=150, deadline=None)


def run(world: World, candidates: list | None = None) -> list[Decision]:
    pool = pool_for(world.current, world.supplies, world.catalog, world.policy, NOW)
    return decide_round(
        candidates if candidates is not None else world.candidates,
        world.catalog,
        world.policy,
        pool,
        NOW,
        TRIGGER,
    )


def releases(decisions: list[Decision]) -> list[ShipmentReleased]:
    return [d for d in decisions if isinstance(d, ShipmentReleased)]


@PROPERTY
@given(worlds())
def test_no_round_assigns_more_than_a_location_or_a_supply_holds(world: World) -> None:
    drawn_current: Counter[tuple[str, str]] = Counter()
    drawn_supply: Counter[str] = Counter()
    for release in releases(run(world)):
        for draw in release.draws:
            if draw.supply_id is None:
                drawn_current[(draw.location_id, draw.sku)] += draw.quantity
            else:
                drawn_supply[draw.supply_id] += draw.quantity
    for key, units in drawn_current.items():
        assert units <= world.current.get(key, 0)
    usable = {
        s.supply_id: s.free
        for s in world.supplies
        if is_usable_supply(s, world.catalog, world.policy, NOW)
    }
    for supply_id, units in drawn_supply.items():
        assert units <= usable.get(supply_id, 0)


@PROPERTY
@given(worlds())
def test_every_draw_comes_from_a_location_that_passes_the_static_fences(world: World) -> None:
    fences = StaticFences(world.catalog)
    for release in releases(run(world)):
        eligibility = fences.evaluate(release.parent)
        for draw in release.draws:
            assert draw.location_id in eligibility.locations(draw.sku)


@PROPERTY
@given(worlds())
def test_a_shipment_is_decided_once_and_released_at_most_once(world: World) -> None:
    decisions = run(world)
    parents = [d.parent.shipment_id for d in releases(decisions)]
    assert len(parents) == len(set(parents))
    about = Counter(
        d.parent.shipment_id if isinstance(d, ShipmentReleased) else d.shipment.shipment_id
        for d in decisions
    )
    assert all(count == 1 for count in about.values())


@PROPERTY
@given(worlds())
def test_a_release_accounts_for_every_unit_of_the_shipment(world: World) -> None:
    for release in releases(run(world)):
        units: Counter[str] = Counter()
        for child in release.shipments:
            for ln in child.lines:
                units[ln.line_id] += ln.quantity
        for ln in release.short_lines:
            units[ln.line_id] += ln.quantity
        if release.split_off is not None:
            for line in release.split_off.shipment.lines:
                units[line.line_id] += line.quantity
        assert units == Counter({ln.line_id: ln.quantity for ln in release.parent.lines})


def _leftover(world: World, decisions: list[Decision]):
    pool = pool_for(world.current, world.supplies, world.catalog, world.policy, NOW)
    for release in releases(decisions):
        for draw in release.draws:
            pool.take(draw)
    return pool


@PROPERTY
@given(worlds(policy=policies.map(lambda p: _skip_whole(p))))
def test_after_a_round_no_waiting_shipment_could_be_completed_from_what_is_left(
    world: World,
) -> None:
    decisions = run(world)
    pool = _leftover(world, decisions)
    fences = StaticFences(world.catalog)
    for d in decisions:
        if isinstance(d, ShipmentUnroutable) and d.state is WaitState.WAITING:
            shipment = d.shipment
            plan = plan_shipment(
                shipment, fences.evaluate(shipment), pool, world.policy.allows_split(shipment)
            )
            assert not plan.is_complete, shipment.shipment_id


def _skip_whole(policy: ReleasePolicy) -> ReleasePolicy:
    from dataclasses import replace

    return replace(policy, allow_skip=True, partial_release=PartialRelease.NONE)


@PROPERTY
@given(worlds(), st.randoms(use_true_random=False))
def test_the_same_inputs_in_any_stored_order_give_the_same_decisions_and_ids(
    world: World, rnd: random.Random
) -> None:
    first = run(world)
    shuffled_candidates = list(world.candidates)
    rnd.shuffle(shuffled_candidates)
    locations = list(world.catalog.locations.items())
    listings = list(world.catalog.listings.items())
    rnd.shuffle(locations)
    rnd.shuffle(listings)
    current = list(world.current.items())
    rnd.shuffle(current)
    supplies = list(world.supplies)
    rnd.shuffle(supplies)
    shuffled = World(
        Catalog(dict(locations), dict(listings)),
        dict(current),
        supplies,
        shuffled_candidates,
        world.policy,
    )
    assert run(shuffled, shuffled_candidates) == first


@PROPERTY
@given(worlds())
def test_waiting_and_unroutable_reports_carry_every_missing_sku(world: World) -> None:
    for d in run(world):
        if isinstance(d, ShipmentUnroutable):
            skus = {r.sku for r in d.reasons if r.fence == "complete-stock"}
            assert skus, d
            assert skus <= d.shipment.skus


@PROPERTY
@given(worlds())
def test_an_intake_shipment_is_never_silently_dropped(world: World) -> None:
    decisions = run(world)
    decided = {
        d.parent.shipment_id if isinstance(d, ShipmentReleased) else d.shipment.shipment_id
        for d in decisions
    }
    for candidate in world.candidates:
        if candidate.origin is Origin.INTAKE:
            assert candidate.shipment.shipment_id in decided


def test_planner_completeness_without_bundles_matches_per_sku_availability() -> None:
    """Split allowed, no bundles: complete iff every SKU's eligible units suffice."""

    @PROPERTY
    @given(worlds())
    def check(world: World) -> None:
        pool = pool_for(world.current, world.supplies, world.catalog, world.policy, NOW)
        fences = StaticFences(world.catalog)
        for candidate in world.candidates:
            shipment = candidate.shipment
            if any(line.bundle_id for line in shipment.lines):
                continue
            eligibility = fences.evaluate(shipment)
            need: defaultdict[str, int] = defaultdict(int)
            for line in shipment.lines:
                need[line.sku] += line.quantity
            enough = all(
                sum(
                    pool.current(loc, sku) + pool.future(loc, sku)
                    for loc in eligibility.locations(sku)
                )
                >= n
                for sku, n in need.items()
            )
            assert plan_shipment(shipment, eligibility, pool, True).is_complete == enough

    check()


@PROPERTY
@given(
    worlds(),
    st.sampled_from(["L0", "L1", "L2"]),
    st.sampled_from(["K0", "K1", "K2", "K3"]),
    st.integers(1, 6),
)
def test_a_round_that_skips_shipments_the_event_cannot_help_releases_the_same(
    world: World, location: str, sku: str, delta: int
) -> None:
    from dataclasses import replace

    from backorder_worker.domain.release import Floors

    settled_candidates = [replace(c, origin=Origin.WAITING) for c in world.candidates]
    settled = run(world, settled_candidates)
    leftover = _leftover(world, settled)
    still = [
        d.candidate
        for d in settled
        if isinstance(d, ShipmentUnroutable) and d.state is WaitState.WAITING
    ]
    key = (location, sku)
    before = leftover.current(location, sku)
    current = {k: leftover.current(*k) for k in {*world.current, key}}
    current[key] = before + delta

    def round_with(floors: Floors | None) -> list[str]:
        pool = pool_for(current, [], world.catalog, world.policy, NOW)
        pool.add({}, _supplies_from(leftover, world))
        decided = decide_round(still, world.catalog, world.policy, pool, NOW, TRIGGER, floors)
        return [d.parent.shipment_id for d in releases(decided)]

    assert round_with(Floors({key: before}, {})) == round_with(None)


def _supplies_from(pool, world: World):
    """The supplies as the settled round left them (free units only)."""
    from dataclasses import replace

    out = []
    for s in world.supplies:
        if not is_usable_supply(s, world.catalog, world.policy, NOW):
            continue
        draws = pool.future_draws(s.location_id, s.sku, 10**6)
        left = sum(d.quantity for d in draws if d.supply_id == s.supply_id)
        if left:
            out.append(replace(s, quantity=left, promised=0))
    return out
