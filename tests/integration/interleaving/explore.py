"""Schedules: seeded random choices, and exhaustive enumeration of a small scenario.

A random schedule chooses uniformly among the paused actors at every step with
``random.Random(seed)``: the seed alone reproduces it (``run_seed``). Exhaustive
enumeration is a depth-first walk over the choice points, each schedule run from scratch
(stateless model checking): a schedule is the list of choices, and the next one changes
the last choice that had an alternative left.

``BACKORDER_TEST_INTERLEAVINGS=N`` runs N random schedules per scenario instead of the default;
``BACKORDER_TEST_INTERLEAVING_SEED=S`` runs only the schedule of seed S (to replay a failure:
its message names the seed and lists the steps).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

from tests.integration.interleaving.harness import Lab, Outcome, Scenario


def schedules(default: int) -> int:
    """How many random schedules a scenario runs."""
    return int(os.environ.get("BACKORDER_TEST_INTERLEAVINGS", default))


def run_seed(lab: Lab, scenario: Scenario, seed: int) -> Outcome:
    rng = random.Random(seed)
    return lab.run(scenario, lambda names: rng.randrange(len(names)))


def run_serially(lab: Lab, scenario: Scenario, *, last_first: bool = False) -> Outcome:
    """One batch after the other, in the scenario's order or the reverse: the first
    paused actor (or the last) is always the one to go on."""
    return lab.run(scenario, lambda names: len(names) - 1 if last_first else 0)


@dataclass
class Tally:
    """What a scenario's schedules found: the failing ones' reports, the first few kept."""

    scenario: Scenario
    runs: int = 0
    failed: int = 0
    first: list[str] | None = None

    def add(self, outcome: Outcome, how: str) -> None:
        self.runs += 1
        if outcome.problems:
            self.failed += 1
            if self.first is None:
                self.first = [outcome.report(self.scenario, how)]

    def assert_ok(self) -> None:
        if self.failed:
            pytest.fail(self.verdict(), pytrace=False)

    def verdict(self) -> str:
        head = f"{self.failed} of {self.runs} schedules of {self.scenario.name!r} fail"
        return head + ("; the first:\n" + self.first[0] if self.first else "")


def random_schedules(lab: Lab, scenario: Scenario, count: int, first_seed: int = 0) -> Tally:
    only_seed = os.environ.get("BACKORDER_TEST_INTERLEAVING_SEED")
    if only_seed is not None:
        first_seed, count = int(only_seed), 1
    tally = Tally(scenario)
    for seed in range(first_seed, first_seed + count):
        tally.add(run_seed(lab, scenario, seed), f"seed {seed} (explore.run_seed)")
    return tally


def every_schedule(lab: Lab, scenario: Scenario, limit: int = 5_000) -> Tally:
    tally = Tally(scenario)
    for choices, outcome in _depth_first(lab, scenario, limit):
        tally.add(outcome, f"choices {choices} (explore.run_choices)")
    return tally


def run_choices(lab: Lab, scenario: Scenario, choices: list[int]) -> Outcome:
    """Replays one schedule of ``every_schedule`` (then the first actor at every step)."""
    steps = iter(choices)
    return lab.run(scenario, lambda names: min(next(steps, 0), len(names) - 1))


class _Path:
    """One walk down the tree of choices: follows ``prefix``, then takes the first actor."""

    def __init__(self, prefix: list[int]) -> None:
        self.prefix = prefix
        self.taken: list[tuple[int, int]] = []  # (chosen, how many could have been)

    def __call__(self, names: Sequence[str]) -> int:
        step = len(self.taken)
        index = self.prefix[step] if step < len(self.prefix) else 0
        index = min(index, len(names) - 1)  # a replay that diverged: stay in range
        self.taken.append((index, len(names)))
        return index

    def next_prefix(self) -> list[int] | None:
        """The next schedule's choices: the last choice with an alternative left, changed."""
        taken = list(self.taken)
        while taken and taken[-1][0] + 1 >= taken[-1][1]:
            taken.pop()
        if not taken:
            return None
        return [index for index, _ in taken[:-1]] + [taken[-1][0] + 1]


def _depth_first(lab: Lab, scenario: Scenario, limit: int) -> Iterator[tuple[list[int], Outcome]]:
    prefix: list[int] | None = []
    for _ in range(limit):
        if prefix is None:
            return
        path = _Path(prefix)
        outcome = lab.run(scenario, path)
        yield [index for index, _ in path.taken], outcome
        prefix = path.next_prefix()
    raise AssertionError(f"more than {limit} schedules: not small enough to enumerate")
