"""Stock events for two SKUs of one shipment, applied at once by two replicas (defect 1).

Each raises one SKU; the shipment needs both. Whatever the interleaving, once both batches
have committed the shipment must be released (I3), and nothing oversold or doubled.
"""

from __future__ import annotations

from tests.integration.interleaving import explore, scenarios
from tests.integration.interleaving.harness import Lab
from tests.integration.interleaving.pausing import only


def test_the_spec_example_on_two_replicas_releases_s100_whatever_the_interleaving(
    lab: Lab,
) -> None:
    explore.random_schedules(lab, scenarios.spec_example(), explore.schedules(60)).assert_ok()


def test_every_interleaving_of_the_spec_examples_locks_reads_and_commits_releases_s100(
    lab: Lab,
) -> None:
    """Exhaustive over the steps that cross transactions: taking a lock, reading another
    SKU's totals without one, committing."""
    scenario = scenarios.spec_example(points=only("lock_skus", "stock_totals"))
    explore.every_schedule(lab, scenario).assert_ok()


def test_a_stow_racing_a_stock_level_of_the_other_sku_releases_the_shipment(lab: Lab) -> None:
    explore.random_schedules(lab, scenarios.stow_and_level(), explore.schedules(40)).assert_ok()


def test_a_stow_racing_future_supply_of_the_other_sku_releases_the_shipment(lab: Lab) -> None:
    explore.random_schedules(lab, scenarios.stow_and_supply(), explore.schedules(40)).assert_ok()
