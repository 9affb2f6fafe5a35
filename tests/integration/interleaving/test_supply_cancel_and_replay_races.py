"""A supply moved to another SKU (defect 4), a cancellation, and `replay` racing the worker."""

from __future__ import annotations

from tests.integration.interleaving import explore, scenarios
from tests.integration.interleaving.harness import Lab


def test_a_supply_moved_to_another_sku_is_never_promised_for_the_old_one(lab: Lab) -> None:
    explore.random_schedules(lab, scenarios.supply_moved(), explore.schedules(50)).assert_ok()


def test_a_cancelled_shipment_is_never_released_and_the_next_one_gets_the_stock(
    lab: Lab,
) -> None:
    explore.random_schedules(lab, scenarios.cancel_and_stow(), explore.schedules(40)).assert_ok()


def test_replay_racing_the_worker_applies_each_event_once_and_releases_once(lab: Lab) -> None:
    scenario = scenarios.replay_and_worker()
    explore.random_schedules(lab, scenario, explore.schedules(40)).assert_ok()


def test_replay_racing_two_replicas_applies_each_event_once_and_releases_s100(
    lab: Lab,
) -> None:
    scenario = scenarios.replay_and_two_workers()
    explore.random_schedules(lab, scenario, explore.schedules(40)).assert_ok()
