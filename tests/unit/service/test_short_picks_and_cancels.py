"""Short picks (SPEC shipment.short-picked) and cancels that cascade to remainders (R11)."""

from __future__ import annotations

from datetime import datetime

from backorder_worker.domain.fences import Fence
from backorder_worker.domain.outcomes import (
    ShipmentReleased,
    ShipmentUnroutable,
    Trigger,
    WaitState,
)
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.ports import ShipmentRecord, ShipmentState
from backorder_worker.service_layer.results import Applied, Rejected
from tests.fakes import FakeStore, FakeUnitOfWork
from tests.support.driver import Driver, order


def short(shipment_id: str, location_id: str, line_id: str, sku: str, missing: int) -> c.Command:
    return c.ReportShortPick(
        shipment_id, f"O-{shipment_id}", location_id, (c.ShortPickedLine(line_id, sku, missing),)
    )


def released_at_a(world: Driver, *lines: tuple[str, int]) -> None:
    """S-1 released READY at A (A is preferred: its id comes first)."""
    world.seed_catalog()
    for sku, quantity in lines:
        world.apply(c.StowStock("A", sku, quantity + 6))
    world.apply(order("S-1", *lines))
    assert world.uow.state.shipments["S-1"].location_id == "A"


def units_of_line(world: Driver, line_id: str) -> int:
    """Units of the line over every shipment that is to ship (not a REASSIGNED parent)."""
    return sum(
        line.quantity
        for record in world.uow.state.shipments.values()
        if record.state is not ShipmentState.REASSIGNED
        for line in record.shipment.lines
        if line.line_id == line_id
    )


def reports(world: Driver, shipment_id: str) -> list[ShipmentUnroutable]:
    return [
        d
        for d in world.decisions()
        if isinstance(d, ShipmentUnroutable) and d.shipment.shipment_id == shipment_id
    ]


def test_a_short_pick_at_another_location_than_the_shipments_is_rejected() -> None:
    world = Driver()
    released_at_a(world, ("KTP", 4))

    outcome = world.apply(short("S-1", "B", "S-1-1", "KTP", 1))

    assert isinstance(outcome, Rejected) and outcome.error_type == "invalid-short-pick"
    assert "S-1-SP1" not in world.uow.state.shipments


def test_two_short_picks_of_a_four_unit_line_never_move_more_than_four_units() -> None:
    world = Driver()
    released_at_a(world, ("KTP", 4))

    first = world.apply(short("S-1", "A", "S-1-1", "KTP", 4))
    second = world.apply(short("S-1", "A", "S-1-1", "KTP", 4))

    assert isinstance(first, Applied)
    assert isinstance(second, Rejected) and second.error_type == "invalid-short-pick"
    assert world.uow.state.shipments["S-1"].shipment.lines == ()
    assert "S-1-SP2" not in world.uow.state.shipments
    assert units_of_line(world, "S-1-1") == 4  # S-1-SP1 and what it released or split off


def test_short_picks_of_one_line_add_up_to_at_most_what_the_line_holds() -> None:
    world = Driver()
    released_at_a(world, ("KTP", 4))

    assert isinstance(world.apply(short("S-1", "A", "S-1-1", "KTP", 2)), Applied)
    assert isinstance(world.apply(short("S-1", "A", "S-1-1", "KTP", 2)), Applied)
    third = world.apply(short("S-1", "A", "S-1-1", "KTP", 1))

    assert isinstance(third, Rejected)
    assert [ln.quantity for ln in world.uow.state.shipments["S-1-SP1"].shipment.lines] == [2]
    assert [ln.quantity for ln in world.uow.state.shipments["S-1-SP2"].shipment.lines] == [2]
    assert world.uow.state.shipments["S-1"].shipment.lines == ()


def test_a_short_pick_lowers_the_free_stock_by_the_missing_units_not_to_zero() -> None:
    world = Driver()
    released_at_a(world, ("KTP", 4))  # A: 10 stowed, 4 drawn, 6 free
    world.apply(c.StowStock("B", "KTP", 9))

    world.apply(short("S-1", "A", "S-1-1", "KTP", 1))

    # 6 free less the missing unit; the remainder is routed on what is left (5 at A)
    assert world.uow.state.stock[("A", "KTP")].free == 4
    assert world.uow.state.stock[("B", "KTP")].free == 9


def test_a_short_pick_never_lowers_the_free_stock_below_zero() -> None:
    world = Driver()
    world.seed_catalog()
    world.apply(c.StowStock("A", "KTP", 4))
    world.apply(c.StowStock("B", "KTP", 4))
    world.apply(order("S-1", ("KTP", 4)))

    world.apply(short("S-1", "A", "S-1-1", "KTP", 3))

    assert world.uow.state.stock[("A", "KTP")].free == 0
    assert world.uow.state.stock[("B", "KTP")].free == 1


def test_cancelling_a_parent_cancels_its_waiting_split_off_and_reports_it() -> None:
    world = Driver()
    world.seed_catalog()
    world.apply(c.StowStock("A", "KTP", 2))
    world.apply(order("S-1", ("KTP", 2), ("KTP2", 1)))  # R8: KTP goes, KTP2 is split off
    assert world.uow.state.shipments["S-1-B"].state is ShipmentState.WAITING

    world.apply(c.CancelShipment("S-1", "O-S-1"), event_id="cancel-1")
    world.apply(c.StowStock("B", "KTP2", 1))

    assert world.uow.state.shipments["S-1-B"].state is ShipmentState.CANCELLED
    assert not [d for d in world.decisions() if isinstance(d, ShipmentReleased)][1:]
    report = reports(world, "S-1-B")[-1]
    assert (report.state, report.trigger.event_id) == (WaitState.UNROUTABLE, "cancel-1")
    assert [(r.fence, r.detail) for r in report.reasons] == [
        (Fence.PARENT_CANCELLED, "cancelled with S-1")
    ]


def test_cancelling_an_order_reaches_the_short_pick_remainder_of_its_child() -> None:
    world = Driver()
    world.seed_catalog()
    world.apply(c.StowStock("A", "KTP", 1))
    world.apply(c.StowStock("B", "KTP2", 1))
    world.apply(order("S-1", ("KTP", 1), ("KTP2", 1)))  # children S-1-R1 at A, S-1-R2 at B
    world.apply(short("S-1-R1", "A", "S-1-1", "KTP", 1))  # nothing elsewhere: it waits
    assert world.uow.state.shipments["S-1-R1-SP1"].state is ShipmentState.WAITING

    world.apply(c.CancelShipment("S-1", "O-S-1"))
    world.apply(c.StowStock("B", "KTP", 1))

    assert world.uow.state.shipments["S-1-R1-SP1"].state is ShipmentState.CANCELLED
    assert world.uow.state.shipments["S-1-R1-SP1"].parent_id == "S-1-R1"
    assert [r.state for r in reports(world, "S-1-R1-SP1")] == [
        WaitState.WAITING,
        WaitState.UNROUTABLE,
    ]
    assert world.uow.state.stock[("B", "KTP")].free == 1  # not released to anybody


def test_a_cancel_leaves_released_children_and_unrelated_shipments_alone() -> None:
    world = Driver()
    world.seed_catalog()
    world.apply(c.StowStock("A", "KTP", 2))
    world.apply(order("S-1", ("KTP", 2), ("KTP2", 1)))
    world.apply(order("S-10", ("KTP2", 1)))

    world.apply(c.CancelShipment("S-1", "O-S-1"))

    states = {k: v.state for k, v in world.uow.state.shipments.items()}
    assert states == {
        "S-1": ShipmentState.CANCELLED,
        "S-1-B": ShipmentState.CANCELLED,
        "S-10": ShipmentState.WAITING,
    }


def test_a_cancel_holds_the_sku_locks_of_the_shipment_and_its_remainders_before_writing() -> None:
    """A cancel decides the shipment and its remainders (``locking`` rule 1): it holds all
    their SKUs before writing a row, even a SKU a short pick moved out of the shipment."""
    locked_at_cancel: dict[str, set[str]] = {}

    class WatchedStore(FakeStore):
        def cancel(
            self,
            shipment_id: str,
            trigger: Trigger,
            now: datetime,
            report: ShipmentUnroutable | None = None,
        ) -> ShipmentRecord | None:
            locked_at_cancel[shipment_id] = set(self.locked)
            return super().cancel(shipment_id, trigger, now, report)

    world = Driver(FakeUnitOfWork(WatchedStore))
    world.seed_catalog()
    world.apply(c.StowStock("A", "KTP", 4))
    world.apply(c.StowStock("A", "KTP2", 1))
    world.apply(order("S-1", ("KTP", 4), ("KTP2", 1)))  # released at A, no stock left
    world.apply(short("S-1", "A", "S-1-1", "KTP", 4))  # S-1 keeps KTP2 only
    assert world.uow.state.shipments["S-1-SP1"].state is ShipmentState.WAITING

    world.apply(c.CancelShipment("S-1", "O-S-1"))

    assert world.uow.state.shipments["S-1-SP1"].state is ShipmentState.CANCELLED
    assert locked_at_cancel == {"S-1": {"KTP", "KTP2"}, "S-1-SP1": {"KTP", "KTP2"}}
