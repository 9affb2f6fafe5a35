"""Held stock (R7 with allow_skip = false): the earliest shipment keeps what it could use,
current and future, and the moment it stops needing it — unroutable after a listing
change, cancelled, released — the next shipment that stock completes is released in the
same event (issue 11, defect 4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from backorder_worker.domain.model import FulfillmentType, OutOfStockBehaviour, ReleasePolicy
from backorder_worker.domain.outcomes import ShipmentReleased
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.ports import ShipmentState
from tests.support.driver import Driver, order


def no_skip() -> Driver:
    world = Driver(policy=ReleasePolicy(allow_skip=False))
    world.seed_catalog(skus=("KTP", "KTP2", "KTP3"))
    return world


def head_holds_ktp(world: Driver) -> None:
    """H (KTP x5 + KTP2 x1) is first in line and holds the 3 KTP at A; N (KTP x3) waits."""
    world.apply(order("H", ("KTP", 5), ("KTP2", 1)))
    world.apply(order("N", ("KTP", 3)))
    world.apply(c.StowStock("A", "KTP", 3))
    assert states(world) == {"H": ShipmentState.WAITING, "N": ShipmentState.WAITING}


def pickup_at_a(shipment_id: str, *lines: tuple[str, int]) -> c.CreateShipment:
    bopis = order(shipment_id, *lines, pickup_location_id="A")
    return replace(bopis, fulfillment_type=FulfillmentType.BOPIS)


def states(world: Driver) -> dict[str, ShipmentState]:
    return {k: v.state for k, v in world.uow.state.shipments.items() if "-" not in k}


def released_ids(world: Driver) -> set[str]:
    return {d.parent.shipment_id for d in world.decisions() if isinstance(d, ShipmentReleased)}


def test_the_head_turning_unroutable_after_a_listing_change_passes_its_units_on() -> None:
    world = no_skip()
    head_holds_ktp(world)

    world.apply(c.UpdateListing("KTP2", OutOfStockBehaviour.NONE))  # H may no longer wait

    assert states(world) == {"H": ShipmentState.UNROUTABLE, "N": ShipmentState.READY}


def test_a_cancelled_head_passes_its_units_on() -> None:
    world = no_skip()
    head_holds_ktp(world)

    world.apply(c.CancelShipment("H", "O-H"))

    assert states(world) == {"H": ShipmentState.CANCELLED, "N": ShipmentState.READY}


def test_a_head_released_by_another_sku_passes_on_the_units_it_held_and_did_not_use() -> None:
    world = no_skip()
    world.apply(order("H", ("KTP", 2), ("KTP2", 1), split_allowed=False))
    world.apply(pickup_at_a("N", ("KTP", 2)))
    world.apply(c.StowStock("A", "KTP", 2))  # H holds them (A is preferred)
    world.apply(c.StowStock("B", "KTP", 2))  # N picks up at A: it cannot use these
    assert states(world) == {"H": ShipmentState.WAITING, "N": ShipmentState.WAITING}

    world.apply(c.StowStock("B", "KTP2", 1))  # H goes whole from B: A's 2 are N's now

    assert states(world) == {"H": ShipmentState.READY, "N": ShipmentState.READY}
    assert world.uow.state.shipments["H"].location_id == "B"


def test_a_later_shipment_cannot_take_what_the_head_holds_through_another_sku() -> None:
    world = no_skip()
    world.apply(order("H", ("KTP", 2), ("KTP2", 1)))
    world.apply(order("N", ("KTP", 2), ("KTP3", 1)))
    world.apply(c.StowStock("A", "KTP", 2))  # H holds them

    world.apply(c.StowStock("A", "KTP3", 1))  # N's KTP3: N must not take H's KTP

    assert states(world) == {"H": ShipmentState.WAITING, "N": ShipmentState.WAITING}
    assert world.uow.state.stock[("A", "KTP")].free == 2


def test_future_supply_the_head_needs_is_held_too() -> None:
    world = no_skip()
    world.apply(order("H", ("KTP", 5), ("KTP2", 1)))
    world.apply(order("N", ("KTP", 3)))
    world.apply(c.StowStock("A", "KTP", 2))
    world.apply(c.AnnounceSupply("PO-1", "A", "KTP", 3, date(2026, 5, 10)))

    assert states(world) == {"H": ShipmentState.WAITING, "N": ShipmentState.WAITING}
    assert world.uow.state.supplies["PO-1"].promised == 0


def test_a_location_closing_under_the_head_passes_its_units_on() -> None:
    world = no_skip()
    world.apply(c.UpdateListing("ONLY-A", OutOfStockBehaviour.BACKORDER, location_id="A"))
    world.apply(order("H", ("ONLY-A", 1), ("KTP", 2)))
    world.apply(order("N", ("KTP", 2)))
    world.apply(c.StowStock("B", "KTP", 2))  # H holds them
    assert states(world) == {"H": ShipmentState.WAITING, "N": ShipmentState.WAITING}

    world.apply(c.UpdateLocation("A", False, frozenset(FulfillmentType)))  # ONLY-A: nowhere

    assert states(world) == {"H": ShipmentState.UNROUTABLE, "N": ShipmentState.READY}
