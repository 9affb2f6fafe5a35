"""The broker killed and restarted under a worker, for real: nothing lost, nothing twice.

Tansu runs on S3 storage (moto_server on loopback) so that it keeps records, groups and
offsets across a kill -9; the worker must rejoin, resume from its committed offsets,
publish with a fresh producer, and retry (not die of) an offset commit the outage broke.
Every test ends in `check`, which also measures the time from the restart to quiet.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from backorder_worker.devstack.tansu import TansuBroker, free_port, stop_process
from backorder_worker.entrypoints.worker import fault_points
from tests.e2e.support import WorkerProcess
from tests.reliability.broker_state import wait_quiescent
from tests.reliability.checker import check
from tests.reliability.conftest import Figures, MakeWorld
from tests.reliability.recorder import Recorder
from tests.reliability.scenarios import FAST_BATCHES, scenario
from tests.reliability.support import (
    require_hook,
    wait_for,
)


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
