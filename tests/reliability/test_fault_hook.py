"""The test-only fault points (`entrypoints/worker/fault_points.py`): silent unless asked,
exact about when it fires, loud about a misspelt rule."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from backorder_worker.entrypoints.worker import fault_points


@pytest.fixture(autouse=True)
def fresh_hook() -> Iterator[None]:
    fault_points.reset("")
    yield
    fault_points.reset()


def test_without_a_rule_every_point_is_a_no_op() -> None:
    for point in fault_points.POINTS:
        for _ in range(5):
            fault_points.maybe_crash(point)


def test_a_sleep_rule_stalls_only_the_call_it_names() -> None:
    fault_points.reset(f"{fault_points.AFTER_PUBLISH}:2:sleep=0.3")
    durations = []
    for _ in range(3):
        started = time.monotonic()
        fault_points.maybe_crash(fault_points.AFTER_PUBLISH)
        fault_points.maybe_crash(fault_points.BEFORE_DB_COMMIT)
        durations.append(time.monotonic() - started)

    assert durations[1] >= 0.3
    assert durations[0] < 0.1 and durations[2] < 0.1


def test_a_crash_rule_ends_the_process_at_that_call_like_kill_9() -> None:
    script = (
        "from backorder_worker.entrypoints.worker.fault_points import maybe_crash\n"
        "for n in (1, 2, 3):\n"
        "    maybe_crash('after-db-commit')\n"
        "    print('survived', n, flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"BACKORDER_FAULT_INJECT": "after-db-commit:2", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert done.returncode == fault_points.CRASH_STATUS
    assert done.stdout.split("\n")[:-1] == ["survived 1"]


def test_a_stop_rule_freezes_the_process_at_that_call_until_it_is_continued() -> None:
    import psutil

    script = (
        "from backorder_worker.entrypoints.worker.fault_points import maybe_crash\n"
        "for n in (1, 2, 3):\n"
        "    maybe_crash('applied-before-commit')\n"
        "    print('passed', n, flush=True)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        env={"BACKORDER_FAULT_INJECT": "applied-before-commit:2:stop", "PATH": ""},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "passed 1\n"
        deadline = time.monotonic() + 30
        while psutil.Process(process.pid).status() != psutil.STATUS_STOPPED:
            assert time.monotonic() < deadline, "the process never stopped itself"
            time.sleep(0.02)
        process.send_signal(signal.SIGCONT)
        assert process.stdout.read().split("\n")[:-1] == ["passed 2", "passed 3"]
        assert process.wait(30) == 0
    finally:
        process.kill()


@pytest.mark.parametrize(
    "spec",
    ["after-dbcommit:1", "after-publish", "after-publish:0", "after-publish:1:explode"],
)
def test_a_misspelt_rule_is_an_error_not_a_silent_no_op(spec: str) -> None:
    with pytest.raises(ValueError, match="BACKORDER_FAULT_INJECT"):
        fault_points.parse(spec)
