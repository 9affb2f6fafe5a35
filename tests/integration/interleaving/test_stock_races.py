"""Stock events for two SKUs of one shipment, applied at once by two replicas (defect 1)."""

from __future__ import annotations

from tests.integration.interleaving import explore, scenarios
from tests.integration.interleaving.harness import Lab


def test_the_spec_example_on_two_replicas_releases_s100_whatever_the_interleaving(
    lab: Lab,
) -> None:
    tally = explore.random_schedules(lab, scenarios.spec_example(), explore.schedules(150))
    tally.assert_none_failed()
