"""The use cases through the real handlers, on the in-memory store."""

from __future__ import annotations

from datetime import date, timedelta

from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.domain.outcomes import (
    ReleaseKind,
    ShipmentReleased,
    ShipmentStatus,
    ShipmentUnroutable,
    WaitState,
)
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.ports import ShipmentState
from backorder_worker.service_layer.results import Applied, Duplicate, Rejected
from tests.support.driver import T0, Driver, order


def released(world: Driver) -> dict[str, ShipmentReleased]:
    return {d.parent.shipment_id: d for d in world.decisions() if isinstance(d, ShipmentReleased)}


def test_the_worked_example_waits_then_is_released_by_the_second_stow() -> None:
    world = Driver()
    world.seed_catalog()

    world.apply(order("S-100", ("KTP", 5), ("KTP2", 5)))
    [entry] = [d for d in world.decisions() if isinstance(d, ShipmentUnroutable)]
    assert entry.state is WaitState.WAITING
    assert world.uow.state.shipments["S-100"].state is ShipmentState.WAITING

    world.apply(c.StowStock("A", "KTP", 5))
    assert not released(world)
    world.apply(c.StowStock("B", "KTP2", 5))

    release = released(world)["S-100"]
    assert release.release is ReleaseKind.CURRENT
    assert release.parent_status is ShipmentStatus.REASSIGNED
    assert world.uow.state.shipments["S-100"].state is ShipmentState.REASSIGNED
    assert world.uow.state.shipments["S-100-R1"].state is ShipmentState.READY
    assert world.uow.state.stock[("A", "KTP")].free == 0


def test_an_event_id_seen_before_has_no_second_effect() -> None:
    world = Driver()
    world.seed_catalog()
    world.apply(c.StowStock("A", "KTP", 5), event_id="stow-1")

    assert isinstance(world.apply(c.StowStock("A", "KTP", 5), event_id="stow-1"), Duplicate)
    assert world.uow.state.stock[("A", "KTP")].free == 5


def test_an_event_id_reused_with_other_content_is_rejected() -> None:
    world = Driver()
    world.seed_catalog()
    world.apply(c.StowStock("A", "KTP", 5), event_id="stow-1")

    outcome = world.apply(c.StowStock("A", "KTP", 7), event_id="stow-1")
    assert isinstance(outcome, Rejected) and outcome.error_type == "conflict"
    assert world.uow.state.stock[("A", "KTP")].free == 5


def test_a_cancelled_shipment_leaves_the_waiting_room_and_is_never_released() -> None:
    world = Driver()
    world.seed_catalog()
    world.apply(order("S-1", ("KTP", 1)))
    world.apply(c.CancelShipment("S-1", "O-S-1"))
    world.apply(c.StowStock("A", "KTP", 1))

    assert not released(world)
    assert world.uow.state.shipments["S-1"].state is ShipmentState.CANCELLED


def test_cancelling_or_short_picking_an_unknown_shipment_is_rejected() -> None:
    world = Driver()
    cancel = world.apply(c.CancelShipment("nope", "O"))
    short = world.apply(c.ReportShortPick("nope", "O", "A", (c.ShortPickedLine("l", "KTP", 1),)))

    assert isinstance(cancel, Rejected) and cancel.error_type == "unknown-shipment"
    assert isinstance(short, Rejected) and short.error_type == "unknown-shipment"


def test_a_stock_event_for_a_sku_nobody_waits_for_decides_nothing() -> None:
    world = Driver()
    world.seed_catalog()
    outcome = world.apply(c.StowStock("A", "KTP3", 9))

    assert isinstance(outcome, Applied) and outcome.decisions == []


def test_a_short_pick_lowers_the_position_and_reroutes_the_remainder() -> None:
    world = Driver()
    world.seed_catalog()
    world.apply(c.StowStock("A", "KTP", 5))
    world.apply(c.StowStock("B", "KTP", 5))
    world.apply(order("S-1", ("KTP", 4)))
    assert released(world)["S-1"].shipments[0].location_id == "A"

    world.apply(c.ReportShortPick("S-1", "O-S-1", "A", (c.ShortPickedLine("S-1-1", "KTP", 2),)))

    remainder = released(world)["S-1-SP1"]
    assert [(s.location_id, s.lines[0].quantity) for s in remainder.shipments] == [("B", 2)]
    assert world.uow.state.stock[("A", "KTP")].free == 0


def test_a_stale_stock_level_is_ignored_and_a_fresh_one_counts_what_was_assigned_since() -> None:
    world = Driver()
    world.seed_catalog()
    world.apply(c.SetStockLevel("A", "KTP", 10, T0))
    world.apply(order("S-1", ("KTP", 3)))

    world.apply(c.SetStockLevel("A", "KTP", 10, T0))  # out of order: as_of not newer
    assert world.uow.state.stock[("A", "KTP")].free == 7
    world.apply(c.SetStockLevel("A", "KTP", 10, T0 + timedelta(seconds=30)))
    assert world.uow.state.stock[("A", "KTP")].free == 7  # the 3 went out after as_of


def test_stowed_supply_first_covers_the_future_shipments_promised_from_it() -> None:
    world = Driver()
    world.seed_catalog()
    expected = (T0 + timedelta(days=5)).date()
    world.apply(c.AnnounceSupply("PO-1", "A", "KTP", 5, expected))
    world.apply(order("S-1", ("KTP", 3)))
    assert released(world)["S-1"].release is ReleaseKind.FUTURE
    world.apply(order("S-2", ("KTP", 3), split_allowed=False))  # 2 left on PO-1: it waits

    world.apply(c.StowStock("A", "KTP", 5, supply_id="PO-1"))

    assert world.uow.state.stock[("A", "KTP")].free == 2
    assert world.uow.state.supplies["PO-1"].promised == 0
    assert "S-2" not in released(world)


def test_announced_supply_releases_waiting_shipments_as_future() -> None:
    world = Driver()
    world.seed_catalog()
    world.apply(order("S-1", ("KTP", 2)))
    world.apply(c.AnnounceSupply("PO-1", "B", "KTP", 2, date(2026, 5, 10)))

    release = released(world)["S-1"]
    assert release.release is ReleaseKind.FUTURE
    assert release.shipments[0].expected_date == date(2026, 5, 10)


def test_activating_a_location_releases_what_its_stock_can_now_complete() -> None:
    world = Driver()
    world.seed_catalog(locations=("A",))
    from backorder_worker.domain.model import FulfillmentType

    world.apply(c.UpdateLocation("C", False, frozenset(FulfillmentType)))
    world.apply(c.StowStock("C", "KTP", 1))
    world.apply(order("S-1", ("KTP", 1)))
    assert not released(world)

    world.apply(c.UpdateLocation("C", True, frozenset(FulfillmentType)))
    assert released(world)["S-1"].shipments[0].location_id == "C"


def test_with_skip_off_a_new_shipment_cannot_take_stock_an_earlier_one_holds() -> None:
    world = Driver(policy=ReleasePolicy(allow_skip=False))
    world.seed_catalog()
    world.apply(order("S-1", ("KTP", 5)))
    world.apply(c.StowStock("A", "KTP", 3))
    world.apply(order("S-2", ("KTP", 2)))

    assert not released(world)
    assert world.uow.state.shipments["S-2"].state is ShipmentState.WAITING


def test_the_live_check_says_what_evaluating_a_waiting_shipment_now_would_decide() -> None:
    from backorder_worker.service_layer.explain import explain

    world = Driver()
    world.seed_catalog()
    world.apply(order("S-1", ("KTP", 5), ("KTP2", 5)))
    world.apply(c.StowStock("A", "KTP", 5))  # cannot help yet: KTP2 is short too
    with world.uow() as store:
        [still] = explain(store, world.policy, world.clock, "S-1")
    assert isinstance(still, ShipmentUnroutable)
    assert [(r.sku, r.assignable) for r in still.reasons] == [("KTP2", 0)]

    world.apply(c.StowStock("B", "KTP3", 1))  # unrelated stock changes nothing
    with world.uow() as store:
        assert explain(store, world.policy, world.clock, "nope") == []
        assert world.uow.state.shipments["S-1"].state is ShipmentState.WAITING
