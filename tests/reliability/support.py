"""Helpers of the fault tests: the fault hook, waiting, the worker's own counts, and a
world settled (catalog and shipments applied) before the fault."""

from __future__ import annotations

import inspect
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from backorder_worker.entrypoints.worker import fault_points
from tests.e2e.support import WorkerProcess, World
from tests.reliability.recorder import Recorder
from tests.reliability.scenarios import Scenario

_CONSTANTS = {
    fault_points.BEFORE_DB_COMMIT: "BEFORE_DB_COMMIT",
    fault_points.AFTER_DB_COMMIT: "AFTER_DB_COMMIT",
    fault_points.AFTER_PUBLISH: "AFTER_PUBLISH",
    fault_points.APPLIED_BEFORE_COMMIT: "APPLIED_BEFORE_COMMIT",
    fault_points.APPLIED_AFTER_COMMIT: "APPLIED_AFTER_COMMIT",
}


def hook_is_wired(point: str) -> bool:
    """Whether the worker calls `maybe_crash(point)` (its loop.py or batch.py)."""
    from backorder_worker.entrypoints.worker import batch, loop

    source = inspect.getsource(batch) + inspect.getsource(loop)
    name = re.escape(_CONSTANTS[point])
    pattern = rf"maybe_crash\(\s*(fault_points\.)?({name}|\"{re.escape(point)}\")\s*\)"
    return re.search(pattern, source) is not None


def require_hook(point: str) -> None:
    if not hook_is_wired(point):
        pytest.skip(
            f"fault hook not wired: the worker does not call maybe_crash({_CONSTANTS[point]})"
            " (backorder_worker/entrypoints/worker/fault_points.py; see docs/reliability.md)"
        )


def wait_for(what: str, check: Callable[[], bool], timeout_s: float = 30.0) -> float:
    """Polls `check` until it is true; returns the monotonic time it became true."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout_s} s: {what}")


def applied_count(world: World, ids: list[str]) -> int:
    [(done,)] = world.sql("select count(*) from inbox where event_id = any(:ids)", ids=ids)
    return int(done)


def batch_totals(worker: WorkerProcess) -> dict[str, int]:
    """Records, applied, duplicates and invalid summed over the worker's `batch done` lines."""
    totals = {"batches": 0, "records": 0, "applied": 0, "duplicates": 0, "invalid": 0}
    for record in worker.log_records():
        if record.get("msg") == "batch done":
            totals["batches"] += 1
            for name in ("records", "applied", "duplicates", "invalid"):
                totals[name] += int(record.get(name, 0))
    return totals


def wait_crashed(worker: WorkerProcess, point: str, timeout_s: float = 30.0) -> float:
    """Waits for the injected crash; returns when it was seen. Checks it was the fault."""
    status = worker.process.wait(timeout_s)
    at = time.monotonic()
    assert status == fault_points.CRASH_STATUS, f"exit {status}, not the injected crash"
    messages = [r.get("msg", "") for r in worker.log_records()]
    assert any(m.startswith(f"fault injected: crash at {point}") for m in messages), messages[-5:]
    return at


def _backend_ports(world: World, worker: WorkerProcess) -> list[int]:
    """The worker's local TCP ports towards Postgres (psutil): `client_port` in
    pg_stat_activity."""
    import psutil

    return [
        c.laddr.port
        for c in psutil.Process(worker.process.pid).net_connections(kind="tcp")
        if c.raddr and c.raddr.port == (world.engine.url.port or 5432)
    ]


def busy_transactions(world: World, worker: WorkerProcess) -> dict[int, object]:
    """The worker's Postgres backends inside a writing transaction: backend pid → the
    transaction's start."""
    ports = _backend_ports(world, worker)
    if not ports:
        return {}
    rows = world.sql(
        "select pid, xact_start from pg_stat_activity"
        " where client_port = any(:ports) and datname = :db and backend_xid is not null",
        ports=ports,
        db=world.engine.url.database,
    )
    return {int(pid): started for pid, started in rows}


def waiting_on_a_lock(world: World, worker: WorkerProcess) -> bool:
    """Whether one of the worker's backends waits for a lock (a row, a transaction's
    inbox claim, an advisory lock): it is queued behind another transaction."""
    ports = _backend_ports(world, worker)
    rows = world.sql(
        "select count(*) from pg_stat_activity"
        " where client_port = any(:ports) and datname = :db and wait_event_type = 'Lock'",
        ports=ports,
        db=world.engine.url.database,
    )
    return bool(ports) and int(rows[0][0]) > 0


def is_stopped(worker: WorkerProcess) -> bool:
    import psutil

    try:
        return psutil.Process(worker.process.pid).status() == psutil.STATUS_STOPPED
    except psutil.NoSuchProcess:
        return False


@contextmanager
def continued_whenever_stopped(worker: WorkerProcess) -> Iterator[None]:
    """While the block runs, a thread sends SIGCONT to `worker` whenever it is stopped: for
    a replica that carries the same `stop` rule as the one under test (which of the two
    fires first is up to the partition assignment) but must keep working."""
    import signal

    done = threading.Event()

    def keep_running() -> None:
        while not done.wait(0.02):
            if is_stopped(worker):
                worker.send(signal.SIGCONT)

    thread = threading.Thread(target=keep_running, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(5)


def stopped_in_transaction(world: World, worker: WorkerProcess, timeout_s: float = 30.0) -> None:
    """Waits for `worker` to stop itself by its `applied-before-commit:N:stop` rule: it is
    then frozen inside a batch's transaction that has applied events (so written) and
    flushed, before its commit. Checked in `pg_stat_activity`: a writing transaction is
    open, and stays open while the process is stopped."""
    wait_for("the worker stopped itself before its commit", lambda: is_stopped(worker), timeout_s)
    prefix = f"fault injected: stop at {fault_points.APPLIED_BEFORE_COMMIT} "
    messages = [r.get("msg", "") for r in worker.log_records()]
    assert any(m.startswith(prefix) for m in messages), "stopped, but not by the fault rule"
    busy = busy_transactions(world, worker)
    assert busy, "the stopped worker has no writing transaction open"
    assert is_stopped(worker) and busy_transactions(world, worker) == busy


def settle(world: World, recorder: Recorder, plan: Scenario) -> None:
    """Catalog and shipments applied by a worker that then stops cleanly, so that the
    next worker starts with the stock events only (and counts its batches from there)."""
    setup = world.start_worker()
    recorder.set_up(plan.catalog, plan.shipments)
    assert setup.terminate() == 0
