"""The checker itself: it passes a healthy world and fails each broken promise planted in it.

A checker that cannot fail proves nothing, so one world is played to quiet, the worker is
stopped, and one promise at a time is broken in Postgres — an applied event forgotten, a
release paid twice, a decision that was never taken, stock left next to a waiting
shipment — and put back after the checker has named it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from tests.e2e.support import World
from tests.reliability.checker import check
from tests.reliability.conftest import Figures
from tests.reliability.recorder import Recorder
from tests.reliability.scenarios import scenario


@contextmanager
def broken(world: World, do: str, undo: str, **params: object) -> Iterator[None]:
    with world.engine.begin() as conn:
        conn.execute(sa.text(do), params)
    try:
        yield
    finally:
        with world.engine.begin() as conn:
            conn.execute(sa.text(undo), params)


def test_the_checker_passes_a_healthy_world_and_names_each_planted_fault(
    world: World, figures: Figures
) -> None:
    recorder = Recorder(world)
    plan = scenario(seed=53, shipments=20, stows=30)
    worker = world.start_worker()
    recorder.set_up(plan.catalog, plan.shipments)
    started = time.monotonic()
    recorder.publish(plan.stock)
    verdict = check(world, recorder)
    figures.add("none (baseline: 30 stock events to quiet)", verdict, verdict.quiet_at - started)
    assert worker.terminate() == 0
    assert verdict.releases > 0 and verdict.applied == len(recorder.sent)
    [(waiting_id, lines)] = world.sql(
        "select shipment_id, lines from shipments where state = 'WAITING' limit 1"
    )
    [(released_id, sku, location, quantity)] = world.sql(
        "select shipment_id, sku, location_id, quantity from allocations limit 1"
    )
    [(decision_id, decision_row)] = world.sql(
        "select event_id, id from outbox where event_id is not null order by id limit 1"
    )
    stow_id = recorder.ids("stock.stowed")[0]
    [(digest,)] = world.sql("select digest from inbox where event_id = :id", id=stow_id)

    with (
        broken(
            world,
            "delete from inbox where event_id = :id",
            "insert into inbox (event_id, event_type, digest) values (:id, 'stock.stowed', :d)",
            id=stow_id,
            d=digest,
        ),
        pytest.raises(AssertionError, match=f"lost: stock.stowed {stow_id} .* never applied"),
    ):
        check(world, recorder, timeout_s=5)

    with (
        broken(
            world,
            "insert into allocations (location_id, sku, quantity, shipment_id, at)"
            " values (:loc, :sku, :n, :id, now())",
            "delete from allocations where id = (select max(id) from allocations)",
            loc=location,
            sku=sku,
            n=quantity,
            id=released_id,
        ),
        pytest.raises(AssertionError, match=f"duplicated: .* {released_id} holds"),
    ):
        check(world, recorder, timeout_s=5)

    with (
        broken(
            world,
            "update outbox set event_id = 'planted' where id = :row",
            "update outbox set event_id = :id where id = :row",
            row=decision_row,
            id=decision_id,
        ),
        pytest.raises(AssertionError, match=f"output {decision_id} on a topic was never decided"),
    ):
        check(world, recorder, timeout_s=5)

    plenty = {line["sku"] for line in lines}
    with (
        broken(
            world,
            "insert into stock_positions (location_id, sku, free)"
            " select 'L1', sku, 1000 from unnest(cast(:skus as text[])) as sku"
            " on conflict (location_id, sku) do update set free = stock_positions.free + 1000",
            "update stock_positions set free = free - 1000 where location_id = 'L1'"
            " and sku = any(:skus)",
            skus=sorted(plenty),
        ),
        pytest.raises(AssertionError, match=f"waiting shipment {waiting_id} could be completed"),
    ):
        check(world, recorder, timeout_s=5)

    # I3 counts usable future supply too (the oracle): within the date limit it completes
    # the waiting shipment, beyond it it does not.
    plant_supply = (
        "insert into supplies (supply_id, location_id, sku, quantity, expected_date)"
        " select 'planted-' || sku, 'L1', sku, 1000, current_date + :days"
        " from unnest(cast(:skus as text[])) as sku"
    )
    unplant_supply = "delete from supplies where supply_id like 'planted-%'"
    with (
        broken(world, plant_supply, unplant_supply, skus=sorted(plenty), days=5),
        pytest.raises(AssertionError, match=f"waiting shipment {waiting_id} could be completed"),
    ):
        check(world, recorder, timeout_s=5)
    with broken(world, plant_supply, unplant_supply, skus=sorted(plenty), days=60):
        check(world, recorder, timeout_s=5)

    check(world, recorder, timeout_s=5)  # everything put back: healthy again
