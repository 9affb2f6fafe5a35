"""Replicas coming and going, a batch outliving its poll interval, and two workers after
one SKU, with real processes: nothing lost, nothing twice, nothing oversold.

Every test plays a small generated world (tests.reliability.scenarios) through real worker
processes (`backorder-worker run`), moves partitions between members for real (scaling,
a member evicted by its poll interval, two members reading one SKU's stock) and ends in
`check`, which also measures how long the system took from the fault to quiet.
"""

from __future__ import annotations

import signal
import time

from backorder_worker.entrypoints.worker import fault_points
from tests.e2e.support import WorkerProcess, World
from tests.reliability.checker import check
from tests.reliability.conftest import Figures
from tests.reliability.recorder import Recorder
from tests.reliability.scenarios import FAST_BATCHES, catalog, scenario
from tests.reliability.support import (
    applied_count,
    batch_totals,
    require_hook,
    settle,
    wait_for,
)


def test_replicas_going_1_to_3_to_1_under_load_lose_and_double_nothing(
    world: World, figures: Figures
) -> None:
    recorder = Recorder(world)
    plan = scenario(seed=17, shipments=40, stows=300, skus=12)  # stock on every partition
    first = world.start_worker(**FAST_BATCHES)
    recorder.set_up(plan.catalog, plan.shipments)
    with recorder.publishing_in_background(plan.stock[:200], pause_s=0.1):
        extra = [world.start_worker(**FAST_BATCHES) for _ in range(2)]
        wait_for("three members own partitions", lambda: all(w.is_ready() for w in extra), 30)
    burst = recorder.publish(plan.stock[200:])
    wait_for("the burst is being worked on", lambda: applied_count(world, burst) > 10)
    scaled_in_at = time.monotonic()
    for worker in extra:
        worker.send(signal.SIGTERM)
    pending = len(burst) - applied_count(world, burst)
    assert all(worker.process.wait(30) == 0 for worker in extra)
    verdict = check(world, recorder)

    assert verdict.releases > 0, "the world released nothing: it tested little"
    figures.add("replicas 1 -> 3 -> 1 under load", verdict, verdict.quiet_at - scaled_in_at)
    assert first.is_alive()
    assert sum(batch_totals(w)["applied"] for w in extra) > 0, "no added replica worked"
    assert pending > 0, "the scale-in came after the load"


def test_a_batch_slower_than_the_poll_interval_is_redelivered_without_a_second_effect(
    world: World, figures: Figures
) -> None:
    """The 3rd batch holds its transaction open for 5 s, past the 3 s poll interval: the
    member leaves the group, commits its transaction, has its offset commit refused, rejoins
    and reads the batch again. One worker: with a second member joining or rebalancing at
    that moment, Tansu 0.6.0 can lose the group's leader for good (docs/reliability.md)."""
    require_hook(fault_points.BEFORE_DB_COMMIT)
    recorder = Recorder(world)
    plan = scenario(seed=31)
    settle(world, recorder, plan)
    recorder.publish(plan.stock)
    slow = world.start_worker(
        BACKORDER_FAULT_INJECT=f"{fault_points.BEFORE_DB_COMMIT}:3:sleep=5",
        BACKORDER_KAFKA__MAX_POLL_INTERVAL_MS="3000",
        **FAST_BATCHES,
    )
    stalled_at = wait_for("the stall", lambda: fault_logged(slow, "sleep"), 30)
    verdict = check(world, recorder)

    assert verdict.releases > 0, "the world released nothing: it tested little"
    figures.add("batch 5 s slower than a 3 s poll interval", verdict, verdict.quiet_at - stalled_at)
    messages = [r.get("msg", "") for r in slow.log_records()]
    assert any(m.startswith("commit of ") and "refused" in m for m in messages)
    assert batch_totals(slow)["duplicates"] > 0, "the slow batch was never redelivered"
    assert slow.is_alive()


def fault_logged(worker: WorkerProcess, action: str) -> bool:
    prefix = f"fault injected: {action}"
    return any(r.get("msg", "").startswith(prefix) for r in worker.log_records())


def test_two_partitions_contending_for_one_sku_never_oversell(
    world: World, figures: Figures
) -> None:
    """Every shipment needs the hot SKU and one other; stock of each SKU arrives on its
    own partition, read by two workers at once, and intake draws the hot SKU too."""
    recorder = Recorder(world)
    skus = ["HOT", "K1", "K2", "K3", "K4", "K5"]
    world.start_worker(**FAST_BATCHES)
    world.start_worker(**FAST_BATCHES)
    world.wait_applied(recorder.publish(catalog(skus, ["L1", "L2"])))
    wait_for("both workers own partitions", lambda: all(w.is_ready() for w in world.workers))
    shipments = [
        (
            "shipment.created",
            {
                "shipment_id": f"H-{n}",
                "order_id": f"O-H-{n}",
                "fulfillment_type": "STH",
                "lines": [
                    {"line_id": f"H-{n}-0", "sku": "HOT", "quantity": 1 + n % 2},
                    {"line_id": f"H-{n}-1", "sku": skus[1 + n % 5], "quantity": 1},
                ],
            },
        )
        for n in range(40)
    ]
    stock = [
        ("stock.stowed", {"location_id": f"L{1 + n % 2}", "sku": sku, "quantity": 1})
        for n in range(30)
        for sku in ("HOT", skus[1 + n % 5])
    ]
    started = time.monotonic()
    with recorder.publishing_in_background(shipments, chunk=4, pause_s=0.02):
        recorder.publish_slowly(stock, chunk=6, pause_s=0.02)
    verdict = check(world, recorder)

    assert verdict.releases > 0, "the world released nothing: it tested little"
    figures.add("two workers, two partitions, one hot SKU", verdict, verdict.quiet_at - started)
    partitions = {s.partition for s in recorder.sent if s.event_type == "stock.stowed"}
    assert len(partitions) >= 2, "the stock did not arrive on two partitions"
    assert all(batch_totals(w)["applied"] > 0 for w in world.workers)
    [(hot_allocated,)] = world.sql(
        "select coalesce(sum(quantity), 0) from allocations where sku = 'HOT'"
    )
    assert 0 < hot_allocated <= 30
