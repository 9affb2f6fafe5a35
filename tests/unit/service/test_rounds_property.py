"""Rounds through the real handlers, on any history of intake, stows and supply: a shipment
passed over before its SKUs are locked (its unlocked totals show it short of a SKU the
event did not raise) changes no decision, and no lost release follows (I3)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from backorder_worker.domain.fences import StaticFences
from backorder_worker.domain.future_supply import pool_for
from backorder_worker.domain.model import Catalog, PartialRelease, ReleasePolicy
from backorder_worker.domain.routing import plan_shipment
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.ports import ShipmentState
from tests.fakes import FakeStore
from tests.support.driver import T0, Driver, order

SKUS = ("KTP", "KTP2", "KTP3", "KTP4")
sku = st.sampled_from(SKUS)
location = st.sampled_from(("A", "B"))
shipments = st.lists(
    st.lists(st.tuples(sku, st.integers(1, 3)), min_size=1, max_size=3), min_size=1, max_size=8
)
stock_events = st.lists(
    st.one_of(
        st.tuples(st.just("stow"), location, sku, st.integers(1, 6)),
        st.tuples(st.just("supply"), location, sku, st.integers(0, 6)),
    ),
    min_size=4,
    max_size=16,
)
policies = st.builds(
    ReleasePolicy,
    split_allowed=st.booleans(),
    partial_release=st.sampled_from(PartialRelease),
    allow_skip=st.booleans(),
)


class NoTotals(FakeStore):
    """Totals that say nothing: every shipment of a page is admitted and decided."""

    def stock_totals(self, skus: Iterable[str]) -> dict[str, int]:
        return {}


def _history(
    policy: ReleasePolicy,
    demand: list[list[tuple[str, int]]],
    events: list[tuple[str, str, str, int]],
    blind: bool,
) -> Driver:
    world = Driver(policy=policy)
    if blind:
        world.uow.store_type = NoTotals
    world.seed_catalog(skus=SKUS)
    for n, lines in enumerate(demand):
        world.apply(order(f"S-{n}", *lines))
    for n, (kind, loc, of_sku, units) in enumerate(events):
        if kind == "stow":
            world.apply(c.StowStock(loc, of_sku, units))
        else:
            expected = (T0 + timedelta(days=5)).date()
            world.apply(c.AnnounceSupply(f"PO-{n}", loc, of_sku, units, expected))
    return world


def _ids(world: Driver) -> list[str]:
    return [d.event_id for d in world.decisions()]


@settings(max_examples=250, deadline=None)
@given(policy=policies, demand=shipments, events=stock_events)
def test_passing_over_shipments_short_elsewhere_changes_no_decision(
    policy: ReleasePolicy,
    demand: list[list[tuple[str, int]]],
    events: list[tuple[str, str, str, int]],
) -> None:
    assert _ids(_history(policy, demand, events, blind=False)) == _ids(
        _history(policy, demand, events, blind=True)
    )


@settings(max_examples=250, deadline=None)
@given(policy=policies, demand=shipments, events=stock_events)
def test_no_waiting_shipment_could_be_completed_from_the_stock_left(
    policy: ReleasePolicy,
    demand: list[list[tuple[str, int]]],
    events: list[tuple[str, str, str, int]],
) -> None:
    policy = replace(policy, allow_skip=True, partial_release=PartialRelease.NONE)
    world = _history(policy, demand, events, blind=False)
    state = world.uow.state
    catalog = Catalog(state.locations, state.listings)
    current = {key: position.free for key, position in state.stock.items()}
    pool = pool_for(current, list(state.supplies.values()), catalog, policy, world.clock)
    fences = StaticFences(catalog)
    for record in state.shipments.values():
        if record.state is ShipmentState.WAITING:
            shipment = record.shipment
            plan = plan_shipment(
                shipment, fences.evaluate(shipment), pool, policy.allows_split(shipment)
            )
            assert not plan.is_complete, shipment.shipment_id
