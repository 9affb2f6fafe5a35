"""A supply cut below what it promised (future-inventory.updated with a smaller quantity):
the worker cannot take a release back, but it says so (issue 11, defect 8)."""

from __future__ import annotations

from datetime import date

from backorder_worker.domain.receiving import SupplyCut
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.results import Applied
from tests.support.driver import Driver, order

EXPECTED = date(2026, 5, 10)


def future_release(world: Driver) -> None:
    """S-1 (3) and S-2 (1) are promised units of PO-1 (5) as FUTURE shipments."""
    world.seed_catalog()
    world.apply(c.AnnounceSupply("PO-1", "A", "KTP", 5, EXPECTED))
    world.apply(order("S-1", ("KTP", 3)))
    world.apply(order("S-2", ("KTP", 1)))
    assert world.uow.state.supplies["PO-1"].promised == 4


def test_a_supply_cut_below_its_promises_names_the_shortfall_and_the_future_shipments() -> None:
    world = Driver()
    future_release(world)

    outcome = world.apply(c.AnnounceSupply("PO-1", "A", "KTP", 1, EXPECTED), event_id="cut-1")

    assert isinstance(outcome, Applied)
    assert outcome.supply_cut == SupplyCut(
        "PO-1", promised=4, quantity=1, shipment_ids=("S-1-R1", "S-2-R1"), quantity_before=5
    )
    assert outcome.supply_cut.shortfall == 3
    assert world.uow.state.notes == [
        ("S-1-R1", "cut-1", outcome.supply_cut),
        ("S-2-R1", "cut-1", outcome.supply_cut),
    ]


def test_a_supply_cut_to_zero_is_a_cut_of_every_promised_unit() -> None:
    world = Driver()
    future_release(world)

    outcome = world.apply(c.AnnounceSupply("PO-1", "A", "KTP", 0, EXPECTED))

    assert isinstance(outcome, Applied) and outcome.supply_cut is not None
    assert outcome.supply_cut.shortfall == 4


def test_a_second_cut_counts_only_the_units_it_uncovers() -> None:
    world = Driver()
    future_release(world)
    world.apply(c.AnnounceSupply("PO-1", "A", "KTP", 3, EXPECTED))

    outcome = world.apply(c.AnnounceSupply("PO-1", "A", "KTP", 1, EXPECTED))

    assert isinstance(outcome, Applied) and outcome.supply_cut is not None
    assert (outcome.supply_cut.shortfall, outcome.supply_cut.newly_uncovered) == (3, 2)


def test_a_smaller_supply_that_still_covers_its_promises_is_no_cut() -> None:
    world = Driver()
    future_release(world)

    outcome = world.apply(c.AnnounceSupply("PO-1", "A", "KTP", 4, EXPECTED))

    assert isinstance(outcome, Applied) and outcome.supply_cut is None
    assert world.uow.state.notes == []
