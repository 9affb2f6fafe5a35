"""Helpers of the fault tests: the fault hook, waiting, and the worker's own counts."""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Callable

import pytest

from backorder_worker.entrypoints import faults
from tests.e2e.support import WorkerProcess, World

_CONSTANTS = {
    faults.BEFORE_DB_COMMIT: "BEFORE_DB_COMMIT",
    faults.AFTER_DB_COMMIT: "AFTER_DB_COMMIT",
    faults.AFTER_PUBLISH: "AFTER_PUBLISH",
}


def hook_is_wired(point: str) -> bool:
    """Whether the worker calls `maybe_crash(point)` (worker.py or batch.py)."""
    from backorder_worker.entrypoints import batch, worker

    source = inspect.getsource(batch) + inspect.getsource(worker)
    name = re.escape(_CONSTANTS[point])
    pattern = rf"maybe_crash\(\s*(faults\.)?({name}|\"{re.escape(point)}\")\s*\)"
    return re.search(pattern, source) is not None


def require_hook(point: str) -> None:
    if not hook_is_wired(point):
        pytest.skip(
            f"fault hook not wired: the worker does not call maybe_crash({_CONSTANTS[point]})"
            " (backorder_worker/entrypoints/faults.py; see docs/reliability.md)"
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
    assert status == faults.CRASH_STATUS, f"exit {status}, not the injected crash"
    messages = [r.get("msg", "") for r in worker.log_records()]
    assert any(m.startswith(f"fault injected: crash at {point}") for m in messages), messages[-5:]
    return at


def busy_transactions(world: World, worker: WorkerProcess) -> dict[int, object]:
    """The worker's Postgres backends inside a writing transaction: backend pid → the
    transaction's start. Matched through the worker's own TCP ports (psutil)."""
    import psutil

    ports = [
        c.laddr.port
        for c in psutil.Process(worker.process.pid).net_connections(kind="tcp")
        if c.raddr and c.raddr.port == (world.engine.url.port or 5432)
    ]
    if not ports:
        return {}
    rows = world.sql(
        "select pid, xact_start from pg_stat_activity"
        " where client_port = any(:ports) and datname = :db and backend_xid is not null",
        ports=ports,
        db=world.engine.url.database,
    )
    return {int(pid): started for pid, started in rows}


def pause_in_dwell(
    world: World, workers: list[WorkerProcess], timeout_s: float = 30.0
) -> WorkerProcess:
    """SIGSTOPs the first of `workers` to log an injected `sleep` at `before-db-commit`:
    it is then inside its batch's transaction, after the writes and before the commit.
    Checked in `pg_stat_activity` before and after the stop: the pause holds it open."""
    import signal

    prefix = "fault injected: sleep"
    point = f" at {faults.BEFORE_DB_COMMIT} "

    def dwelling() -> WorkerProcess | None:
        for worker in workers:
            for record in worker.log_records():
                message = record.get("msg", "")
                if message.startswith(prefix) and point in message:
                    return worker
        return None

    wait_for("a worker dwelling before its commit", lambda: dwelling() is not None, timeout_s)
    worker = dwelling()
    assert worker is not None
    busy = busy_transactions(world, worker)
    assert busy, "the dwelling worker has no writing transaction open"
    worker.send(signal.SIGSTOP)
    still = busy_transactions(world, worker)
    assert any(still.get(pid) == started for pid, started in busy.items()), (
        "the transaction ended before the pause"
    )
    return worker
