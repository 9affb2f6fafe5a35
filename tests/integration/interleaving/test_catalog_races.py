"""Catalog changes racing stock changes (defects 2 and 3).

Plain: each replica on ``PostgresUnitOfWork``. Cached: each replica composed as
``bootstrap`` composes the worker, warm from earlier batches (it had a Redis catalog
cache until defect 3 was fixed by removing it). SPEC: a stale cache costs time, never a
release.
"""

from __future__ import annotations

from tests.integration.interleaving import explore, scenarios
from tests.integration.interleaving.harness import Lab
from tests.integration.interleaving.pausing import only


def test_a_location_switched_on_while_stock_is_stowed_there_releases_the_shipment(
    lab: Lab,
) -> None:
    scenario = scenarios.location_switched_on()
    explore.random_schedules(lab, scenario, explore.schedules(40)).assert_ok()


def test_every_interleaving_of_switching_a_location_on_and_stowing_there_releases(
    lab: Lab,
) -> None:
    """Exhaustive over the steps that cross transactions: reading the locations, writing
    one, reading which SKUs have stock at it, committing."""
    points = only("locations", "save_location", "skus_at")
    explore.every_schedule(lab, scenarios.location_switched_on(points=points)).assert_ok()


def test_a_location_switched_on_while_a_replica_with_a_warm_cache_stows_there_releases(
    lab: Lab,
) -> None:
    scenario = scenarios.location_switched_on(cached=True)
    explore.random_schedules(lab, scenario, explore.schedules(40)).assert_ok()


def test_future_inventory_switched_on_for_a_listing_while_stock_is_stowed_releases(
    lab: Lab,
) -> None:
    scenario = scenarios.future_switched_on()
    explore.random_schedules(lab, scenario, explore.schedules(40)).assert_ok()


def test_future_inventory_switched_on_while_a_replica_with_a_warm_cache_stows_releases(
    lab: Lab,
) -> None:
    scenario = scenarios.future_switched_on(cached=True)
    explore.random_schedules(lab, scenario, explore.schedules(40)).assert_ok()


def test_a_sku_listed_at_a_new_location_while_stock_is_stowed_there_releases(lab: Lab) -> None:
    scenario = scenarios.listed_at_location()
    explore.random_schedules(lab, scenario, explore.schedules(40)).assert_ok()


def test_a_sku_listed_at_a_new_location_while_a_replica_with_a_warm_cache_stows_releases(
    lab: Lab,
) -> None:
    scenario = scenarios.listed_at_location(cached=True)
    explore.random_schedules(lab, scenario, explore.schedules(40)).assert_ok()
