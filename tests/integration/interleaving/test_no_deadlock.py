"""Crossed locks end in a re-run, never in a deadlock (issue 14, ``locking`` rule 3).

In ``crossed_locks`` each stow holds its own SKU from its first lock call, and its round
then asks for the other's SKU in a later call. When a later call waited (briefly, before
issue 14), the two later calls could wait for each other and Postgres broke the cycle
with a deadlock error (40P01). A later call now only tries: the refused batch rolls back
at once and runs again with both SKUs in its first call, which waits in key order.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from tests.integration.interleaving import explore, scenarios
from tests.integration.interleaving.harness import Lab

# Backends of this database waiting for an advisory lock (the query's own never is).
_ADVISORY_WAITS = sa.text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND pid <> pg_backend_pid()"
)


class _Crossing:
    """A schedule that crosses the locks: stow-KTP goes on until it is about to ask for
    KTP2 in a later lock call, then stow-KTP2 until it is about to ask for KTP (each holds
    its own SKU from its first call by then); then stow-KTP is let into its call, and when
    the run has settled the advisory waits are counted. After that, the first runnable
    actor always goes. ``points`` (the scenario's pause points) notes where each actor is
    about to call next: its thread bears its name."""

    GOALS = (("stow-KTP", "KTP2"), ("stow-KTP2", "KTP"))

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.next_call: dict[str, tuple[str, tuple[Any, ...]]] = {}
        self.phase = 0
        self.waits: list[int] = []

    def points(self, name: str, args: tuple[Any, ...], locked: set[str]) -> bool:
        self.next_call[threading.current_thread().name] = (name, args)
        return True

    def _about_to_lock(self, actor: str, sku: str) -> bool:
        name, args = self.next_call.get(actor, ("", ()))
        return name == "lock_skus" and sku in args[0]

    def __call__(self, names: Sequence[str]) -> int:
        while self.phase < 2 and self._about_to_lock(*self.GOALS[self.phase]):
            self.phase += 1
        if self.phase < 2:
            actor = self.GOALS[self.phase][0]
        elif self.phase == 2:
            actor, self.phase = "stow-KTP", 3  # into its later lock call, for KTP2
        else:
            if self.phase == 3:
                with self.lab.engine.connect() as conn:
                    self.waits.append(int(conn.execute(_ADVISORY_WAITS).scalar_one()))
                self.phase = 4
            actor = names[0]
        return names.index(actor) if actor in names else 0


def test_a_later_lock_call_refused_a_lock_does_not_wait_for_it(lab: Lab) -> None:
    """stow-KTP's round asks for KTP2 in a later lock call while stow-KTP2 holds it: it
    must not wait (before issue 14 it waited up to 250 ms, long enough for stow-KTP2's own
    later call to close a cycle, which Postgres broke with a deadlock error); it re-runs
    the batch instead, and S-1 is released."""
    crossing = _Crossing(lab)
    scenario = replace(scenarios.crossed_locks(), points=crossing.points)
    outcome = lab.run(scenario, crossing)
    steps = "\n".join(outcome.trace)
    assert not outcome.problems, outcome.report(scenario, "crossing")
    assert crossing.phase == 4, f"the schedule never crossed the locks:\n{steps}"
    assert crossing.waits == [0], f"a later lock call waits for an advisory lock:\n{steps}"
    assert not [line for line in outcome.trace if "deadlock" in line], steps
    assert [line for line in outcome.trace if "LockContended" in line], steps


def test_crossed_locks_never_deadlock_and_release_s1_whatever_the_interleaving(
    lab: Lab,
) -> None:
    """The schedules in which the two stows cross their locks (seeds that deadlocked before
    issue 14) end in a re-run, with I1, I2 and I3 (the oracle) holding."""
    scenario = scenarios.crossed_locks()
    reruns = 0
    for seed in range(12):
        outcome = explore.run_seed(lab, scenario, seed)
        assert not outcome.problems, outcome.report(scenario, f"seed {seed}")
        deadlocks = [line for line in outcome.trace if "deadlock" in line]
        assert not deadlocks, outcome.report(scenario, f"seed {seed}") + "\n" + str(deadlocks)
        reruns += any("LockContended" in line for line in outcome.trace)
    assert reruns, "no schedule of twelve crossed the locks: the scenario no longer tests it"
