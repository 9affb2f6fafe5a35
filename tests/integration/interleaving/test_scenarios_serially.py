"""Every scenario holds I1-I3 when its batches run one after the other, in either order:
what the interleaving tests find is then the interleaving's doing, not the scenario's."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.integration.interleaving import explore, scenarios
from tests.integration.interleaving.harness import Lab, Scenario

SCENARIOS: list[Callable[[], Scenario]] = [
    scenarios.spec_example,
    scenarios.stow_and_level,
    scenarios.stow_and_supply,
    scenarios.location_switched_on,
    lambda: scenarios.location_switched_on(cached=True),
    scenarios.future_switched_on,
    lambda: scenarios.future_switched_on(cached=True),
    scenarios.listed_at_location,
    lambda: scenarios.listed_at_location(cached=True),
    scenarios.supply_moved,
    scenarios.cancel_and_stow,
    scenarios.replay_and_worker,
    scenarios.replay_and_two_workers,
]


@pytest.mark.parametrize("make", SCENARIOS, ids=lambda make: make().name.replace(" ", "-"))
def test_the_scenario_run_serially_in_either_order_holds_every_invariant(
    lab: Lab, make: Callable[[], Scenario]
) -> None:
    scenario = make()
    for last_first in (False, True):
        outcome = explore.run_serially(lab, scenario, last_first=last_first)
        assert not outcome.problems, outcome.report(scenario, f"serial, last first {last_first}")
