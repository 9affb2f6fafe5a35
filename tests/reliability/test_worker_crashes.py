"""A worker killed, stopped or paused inside its batch, with real processes: nothing lost,
nothing twice.

Every test plays a small generated world (tests.reliability.scenarios) through real worker
processes (`backorder-worker run`), injects one fault for real — kill -9 at a point of the
batch loop, SIGTERM under load, SIGSTOP inside a transaction — and ends in `check`, which
also measures how long the system took from the fault to quiet (lag 0, outbox published).
"""

from __future__ import annotations

import signal
import time

import pytest

from backorder_worker.bootstrap import SWEEP_INTERVAL_S
from backorder_worker.entrypoints.worker import fault_points
from tests.e2e.support import WorkerProcess, World
from tests.reliability.checker import check
from tests.reliability.conftest import Figures
from tests.reliability.recorder import Recorder
from tests.reliability.scenarios import FAST_BATCHES, catalog, scenario
from tests.reliability.support import (
    applied_count,
    batch_totals,
    continued_whenever_stopped,
    is_stopped,
    require_hook,
    settle,
    stopped_in_transaction,
    wait_crashed,
    wait_for,
    waiting_on_a_lock,
)


@pytest.mark.parametrize(
    "point",
    [fault_points.BEFORE_DB_COMMIT, fault_points.AFTER_DB_COMMIT, fault_points.AFTER_PUBLISH],
)
def test_a_worker_killed_at_a_point_of_its_batch_loses_nothing_and_doubles_nothing(
    world: World, figures: Figures, point: str
) -> None:
    require_hook(point)
    recorder = Recorder(world)
    plan = scenario(seed=7, shipments=60, stows=100, skus=3, max_lines=1, unit=True)
    settle(world, recorder, plan)
    stock_ids = recorder.publish(plan.stock)

    doomed = world.start_worker(BACKORDER_FAULT_INJECT=f"{point}:3", **FAST_BATCHES)
    crashed_at = wait_crashed(doomed, point)
    applied, logged = applied_count(world, stock_ids), batch_totals(doomed)
    assert logged["batches"] == 2, "the crash did not land in the third batch"
    [(unpublished,)] = world.sql("select count(*) from outbox where published_at is null")
    if point == fault_points.BEFORE_DB_COMMIT:
        assert applied == logged["applied"], "the third batch must not have committed"
    else:
        assert applied > logged["applied"], "the third batch must have committed"
    if point == fault_points.AFTER_DB_COMMIT:
        assert unpublished > 0, "the crash left no outbox row to publish: it tested nothing"
    left = [row_id for (row_id,) in world.sql("select id from outbox where published_at is null")]
    successor = world.start_worker()
    if point == fault_points.AFTER_DB_COMMIT:
        # No lease of the dead worker's to wait out: the first sweep of the successor's
        # sweeper (started just before its `worker started` line) takes the rows.
        started_at = wait_for("the successor started", lambda: has_started(successor))
        out_at = wait_for("the crash's outputs published", lambda: published(world, left))
        assert out_at - started_at <= crash_bound_s(world), (
            f"the outputs a crash left took {out_at - started_at:.2f} s after a sweeper started"
        )
    verdict = check(world, recorder)

    assert verdict.releases > 0, "the world released nothing: it tested little"
    figures.add(f"kill -9 {point} (3rd batch)", verdict, verdict.quiet_at - crashed_at)
    redelivered = batch_totals(successor)["duplicates"]
    if point == fault_points.BEFORE_DB_COMMIT:
        assert redelivered == 0, "batches committed before the crash were read again"
    else:
        assert redelivered > 0, "the committed but unacknowledged batch was not read again"


def crash_bound_s(world: World) -> float:
    """The promise for a dead worker's decided outputs: out within the consumer session
    timeout plus one sweep interval of a living replica's sweeper."""
    return world.settings.kafka.session_timeout_ms / 1000 + SWEEP_INTERVAL_S


def has_started(worker: WorkerProcess) -> bool:
    return any(r.get("msg") == "worker started" for r in worker.log_records())


def published(world: World, ids: list[int]) -> bool:
    [(left,)] = world.sql(
        "select count(*) from outbox where id = any(:ids) and published_at is null", ids=ids
    )
    return int(left) == 0


def test_a_release_decided_by_a_worker_killed_after_its_commit_is_out_within_the_bound(
    world: World, figures: Figures
) -> None:
    """Two replicas, each to crash right after the first commit in which it applied an
    event; one stock event, which releases a shipment. Its worker commits the release and
    dies before publishing it; the other, alive (a redelivered batch of duplicates applies
    nothing, so its rule never fires), must put the release on the output topic within
    session timeout + sweep interval of the death: nothing of the dead one's to wait out."""
    require_hook(fault_points.APPLIED_AFTER_COMMIT)
    recorder = Recorder(world)
    setup = world.start_worker()
    world.wait_applied(recorder.publish(catalog(["K1"], ["L1"])))
    lines = [{"line_id": "R-1-0", "sku": "K1", "quantity": 1}]
    shipment = {"shipment_id": "R-1", "order_id": "O-R-1", "fulfillment_type": "STH"}
    world.wait_applied(recorder.publish([("shipment.created", {**shipment, "lines": lines})]))
    assert setup.terminate() == 0
    doom = f"{fault_points.APPLIED_AFTER_COMMIT}:1"
    replicas = [world.start_worker(BACKORDER_FAULT_INJECT=doom) for _ in range(2)]
    wait_for("both replicas own partitions", lambda: all(w.is_ready() for w in replicas))

    recorder.publish([("stock.stowed", {"location_id": "L1", "sku": "K1", "quantity": 1})])
    died_at = wait_for("a replica died", lambda: not all(w.is_alive() for w in replicas))
    [dead] = [w for w in replicas if not w.is_alive()]
    [alive] = [w for w in replicas if w.is_alive()]
    wait_crashed(dead, fault_points.APPLIED_AFTER_COMMIT)
    released = [
        row_id
        for (row_id,) in world.sql(
            "select id from outbox where topic = :topic",
            topic=world.settings.topics.shipment_released,
        )
    ]
    assert len(released) == 1, "the dead replica did not commit the release"
    out_at = wait_for("the release published", lambda: published(world, released), 30)
    verdict = check(world, recorder)

    assert verdict.releases == 1
    figures.add("kill -9 after the commit of a release, a replica alive", verdict, out_at - died_at)
    assert out_at - died_at <= crash_bound_s(world), (
        f"the release reached the topic {out_at - died_at:.2f} s after its worker died"
    )
    assert alive.is_alive()


def test_sigterm_under_load_exits_0_and_nothing_is_redelivered(
    world: World, figures: Figures
) -> None:
    recorder = Recorder(world)
    plan = scenario(seed=11)
    first = world.start_worker(**FAST_BATCHES)
    recorder.set_up(plan.catalog, plan.shipments)
    with recorder.publishing_in_background(plan.stock, pause_s=0.1) as feeder:
        wait_for("some stock applied", lambda: applied_count(world, recorder.ids()) > 60)
        first.send(signal.SIGTERM)
        stopped_at = time.monotonic()
        assert first.process.wait(30) == 0
        under_load = feeder.is_alive() or applied_count(world, recorder.ids()) < len(recorder.ids())
        second = world.start_worker(**FAST_BATCHES)
    verdict = check(world, recorder)

    assert verdict.releases > 0, "the world released nothing: it tested little"
    figures.add("SIGTERM under load", verdict, verdict.quiet_at - stopped_at)
    assert under_load, "SIGTERM came after the load"
    assert batch_totals(second)["duplicates"] == 0
    assert second.metric("backorder_events_total", outcome="duplicate") == 0


def test_a_worker_paused_mid_transaction_whose_partitions_moved_doubles_nothing_when_it_wakes(
    world: World, figures: Figures
) -> None:
    require_hook(fault_points.APPLIED_BEFORE_COMMIT)
    recorder = Recorder(world)
    # Stock on every partition, one line per shipment: a batch locks the SKUs of its own
    # partitions only, so the other worker is held up by the paused one's locks only at
    # the paused batch's own records.
    plan = scenario(seed=13, skus=12, max_lines=1)
    settle(world, recorder, plan)
    # Each worker stops itself (SIGSTOP) inside the transaction of its 2nd batch that
    # applied events: after its writes and before its commit, exactly, whatever the
    # scheduling (seen in its log and in pg_stat_activity). Both carry the rule, since the
    # assignment decides which gets stock; the first to stop is the sleeper, and the other
    # is continued whenever its own rule fires, so that it works on.
    stop = f"{fault_points.APPLIED_BEFORE_COMMIT}:2:stop"
    workers = [world.start_worker(**FAST_BATCHES, BACKORDER_FAULT_INJECT=stop) for _ in "ab"]
    wait_for("both workers own partitions", lambda: all(w.is_ready() for w in workers))
    with recorder.publishing_in_background(plan.stock, pause_s=0.1):
        wait_for("a worker stopped itself", lambda: any(is_stopped(w) for w in workers))
        [sleeper, other] = sorted(workers, key=lambda w: not is_stopped(w))
        stopped_in_transaction(world, sleeper)
        with continued_whenever_stopped(other):
            # Tansu moves a silent member's partitions once its session (2 s) ends: ~3.4 s.
            wait_for("the other worker owns every partition", lambda: owns_all(other), 15)
            wait_for(
                "the other worker reached the paused batch's records and waits on its locks",
                lambda: waiting_on_a_lock(world, other),
                30,
            )
            sleeper.send(signal.SIGCONT)
            woke_at = time.monotonic()
    with continued_whenever_stopped(other):
        wait_for("the sleeper rejoined", lambda: sleeper.is_ready(), 20)
        verdict = check(world, recorder)

    assert verdict.releases > 0, "the world released nothing: it tested little"
    figures.add(
        "SIGSTOP mid-transaction, partitions moved, SIGCONT", verdict, verdict.quiet_at - woke_at
    )
    assert sleeper.is_alive() and other.is_alive()
    lost = [r for r in sleeper.log_records() if r.get("msg", "").startswith("partitions lost")]
    assert lost, "the sleeper never noticed it had been replaced"
    assert batch_totals(other)["duplicates"] + batch_totals(sleeper)["duplicates"] > 0, (
        "the paused batch was never read again: its partitions did not move under it"
    )


def owns_all(worker: WorkerProcess) -> bool:
    """Whether the worker's last assignment line lists all 16 input partitions."""
    owned: set[str] = set()
    for record in worker.log_records():
        message = record.get("msg", "")
        if message.startswith("partitions assigned: "):
            owned |= set(message.removeprefix("partitions assigned: ").split(", "))
        elif message.startswith(("partitions revoked: ", "partitions lost: ")):
            owned -= set(message.split(": ", 1)[1].split(", "))
    return len(owned) == 16
