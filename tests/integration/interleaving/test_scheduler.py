"""The scheduler itself: a seed replays its schedule, and a batch waiting on a lock is seen."""

from __future__ import annotations

import re

from tests.integration.interleaving import explore, scenarios
from tests.integration.interleaving.harness import Lab


def test_a_seed_replays_the_same_steps_and_the_same_findings(lab: Lab) -> None:
    for scenario in (scenarios.cancel_and_stow(), scenarios.replay_and_worker()):
        for seed in range(5):
            first = explore.run_seed(lab, scenario, seed)
            again = explore.run_seed(lab, scenario, seed)
            assert (again.trace, again.problems) == (first.trace, first.problems), seed


def test_a_batch_waiting_for_anothers_uncommitted_claim_lets_the_other_go_on(lab: Lab) -> None:
    """The replay claims the worker's events while the worker has claimed them and not
    committed: it waits inside Postgres, and the scheduler must step the worker meanwhile."""
    scenario = scenarios.replay_and_worker()
    # worker: begin, claim; replay: begin, claim (blocks); then only the worker can go.
    outcome = explore.run_choices(lab, scenario, [0, 0, 1, 1])
    assert not outcome.problems, outcome.report(scenario, "[0, 0, 1, 1]")
    actors = [m[1] for line in outcome.trace if (m := re.match(r" *\d+ ([^:]+): ", line))]
    assert actors[:4] == ["worker", "worker", "replay", "replay"], outcome.trace
    worker_steps = actors[4:].count("worker")
    assert actors[4 : 4 + worker_steps] == ["worker"] * worker_steps, outcome.trace
