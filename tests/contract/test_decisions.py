"""Recording decisions (``record``): a release moves stock, supply and shipments; a report
keeps a shipment waiting or marks it unroutable; neither may touch a shipment that is
no longer waiting (``ConcurrentRelease``). And ``shipment``, which knows each state."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from backorder_worker.domain.model import Candidate, Line, Origin, ReleaseOrder
from backorder_worker.domain.outcomes import (
    ShipmentReleased,
    ShipmentStatus,
    ShipmentUnroutable,
    WaitState,
)
from backorder_worker.service_layer.ports import (
    ConcurrentRelease,
    ShipmentRecord,
    ShipmentState,
    Store,
    UnitOfWork,
)
from tests.integration.postgres.world import (
    CREATED,
    NOW,
    decide,
    set_up_catalog,
    shipment,
    supply,
    waiting,
)

ENTERED = NOW - timedelta(days=3)
FIFO = ReleaseOrder.FIFO
S1 = shipment("S-1", ("KTP", 5), ("KTP2", 3))


def waiting_s1(uow: UnitOfWork) -> None:
    with uow() as store:
        set_up_catalog(store)
        store.record(waiting(S1, ENTERED), ENTERED)


def release_s1(store: Store) -> ShipmentReleased:
    """KTP from current stock at A, KTP2 from a supply at B: two children, S-1 REASSIGNED."""
    (candidate,) = store.waiting_page(["KTP"], FIFO, None, 10)
    (decision,) = decide(store, [candidate])
    assert isinstance(decision, ShipmentReleased)
    store.record(decision, NOW)
    return decision


def stocked(uow: UnitOfWork) -> None:
    with uow() as store:
        store.set_free_stock("A", "KTP", 7)
        store.save_supply(supply("PO-1", "B", "KTP2", 10))


def test_a_release_draws_stock_and_supply_and_keeps_every_shipment_it_made(
    uow: UnitOfWork,
) -> None:
    waiting_s1(uow)
    stocked(uow)
    with uow() as store:
        decision = release_s1(store)
    with uow() as store:
        assert store.shipment("S-1") == ShipmentRecord(
            S1, ShipmentState.REASSIGNED, ENTERED, ENTERED
        )
        children = []
        for child in decision.shipments:
            lines = tuple(Line(ln.line_id, ln.sku, ln.quantity) for ln in child.lines)
            children.append(
                ShipmentRecord(
                    replace(S1, shipment_id=child.shipment_id, lines=lines),
                    ShipmentState(child.status.value),
                    None,
                    ENTERED,
                    child.location_id,
                    child.expected_date,
                    parent_id="S-1",
                )
            )
            assert store.shipment(child.shipment_id) == children[-1]
        assert store.descendants("S-1") == sorted(children, key=lambda r: r.shipment.shipment_id)
        assert [r.state for r in children] == [ShipmentState.READY, ShipmentState.FUTURE]
        assert store.stock_position("A", "KTP").free == 2
        assert store.assigned_since("A", "KTP", NOW - timedelta(seconds=1)) == 5
        assert store.assigned_since("A", "KTP", NOW) == 0
        po1 = store.supply("PO-1")
        assert po1 is not None and po1.promised == 3
        assert store.promised_from(po1) == [children[1].shipment.shipment_id]
        assert store.waiting_page(None, FIFO, None, 10) == []
        assert store.waiting_skus(["KTP", "KTP2"]) == set()


def test_releasing_a_shipment_no_longer_waiting_raises_and_changes_nothing(
    uow: UnitOfWork,
) -> None:
    waiting_s1(uow)
    stocked(uow)
    with uow() as store:
        store.set_free_stock("A", "KTP", 14)
        decision = release_s1(store)
    with pytest.raises(ConcurrentRelease), uow() as store:
        store.record(decision, NOW)
    with uow() as store:
        assert store.stock_position("A", "KTP").free == 9


def test_releasing_a_cancelled_shipment_raises(uow: UnitOfWork) -> None:
    waiting_s1(uow)
    stocked(uow)
    with uow() as store:
        (candidate,) = store.waiting_page(["KTP"], FIFO, None, 10)
        (decision,) = decide(store, [candidate])
    with uow() as store:
        store.cancel("S-1", CREATED, NOW)
    with pytest.raises(ConcurrentRelease), uow() as store:
        store.record(decision, NOW)


def test_a_shipment_released_at_intake_is_inserted_released(uow: UnitOfWork) -> None:
    s2 = shipment("S-2", ("KTP", 2))
    with uow() as store:
        set_up_catalog(store)
        store.set_free_stock("A", "KTP", 2)
    with uow() as store:
        (decision,) = decide(store, [Candidate(s2, NOW, Origin.INTAKE)], CREATED)
        assert isinstance(decision, ShipmentReleased)
        assert decision.parent_status is ShipmentStatus.READY
        store.record(decision, NOW)
    with uow() as store:
        record = store.shipment("S-2")
        assert record is not None
        assert (record.state, record.location_id, record.entered_at) == (
            ShipmentState.READY,
            "A",
            None,
        )
        assert record.shipment == s2
        assert store.stock_position("A", "KTP").free == 0
    with pytest.raises(ConcurrentRelease), uow() as store:
        store.record(decision, NOW)  # at intake again: the shipment is known by now


def unroutable(decision: ShipmentUnroutable) -> ShipmentUnroutable:
    return replace(decision, state=WaitState.UNROUTABLE, event_id=decision.event_id + "-u")


def test_a_report_keeps_a_shipment_waiting_or_takes_it_out_as_unroutable(
    uow: UnitOfWork,
) -> None:
    report = waiting(S1, ENTERED)
    assert isinstance(report, ShipmentUnroutable)
    with uow() as store:
        store.record(report, ENTERED)
        assert store.waiting_skus(["KTP"]) == {"KTP"}
    with uow() as store:
        assert store.shipment("S-1") == ShipmentRecord(S1, ShipmentState.WAITING, ENTERED, ENTERED)
        store.record(unroutable(report), NOW)
    with uow() as store:
        assert store.shipment("S-1") == ShipmentRecord(
            S1, ShipmentState.UNROUTABLE, ENTERED, ENTERED
        )
        assert store.waiting_page(None, FIFO, None, 10) == []
        assert store.waiting_skus(["KTP", "KTP2"]) == set()
        store.record(report, NOW)  # waits again
    with uow() as store:
        assert [c.shipment for c in store.waiting_page(["KTP2"], FIFO, None, 10)] == [S1]


def test_a_report_keeps_the_link_and_count_of_a_remainder(uow: UnitOfWork) -> None:
    s2 = shipment("S-2", ("KTP", 1))
    with uow() as store:
        store.record(waiting(S1, ENTERED), ENTERED)
        store.record(waiting(s2, ENTERED), ENTERED)
    with uow() as store:
        store.link_remainder("S-2", "S-1")
        store.count_short_pick("S-2")
    with uow() as store:
        store.record(waiting(s2, ENTERED, CREATED), NOW)
    with uow() as store:
        record = store.shipment("S-2")
        assert record is not None and (record.parent_id, record.short_picks) == ("S-1", 1)


@pytest.mark.parametrize("state", [WaitState.WAITING, WaitState.UNROUTABLE])
def test_a_report_on_a_released_or_cancelled_shipment_raises(
    uow: UnitOfWork, state: WaitState
) -> None:
    waiting_s1(uow)
    stocked(uow)
    report = replace(waiting(S1, ENTERED), state=state)
    with uow() as store:
        release_s1(store)
    with pytest.raises(ConcurrentRelease), uow() as store:
        store.record(report, NOW)
    s2 = shipment("S-2", ("KTP", 1))
    with uow() as store:
        store.record(waiting(s2, ENTERED), ENTERED)
        store.cancel("S-2", CREATED, NOW)
    with pytest.raises(ConcurrentRelease), uow() as store:
        store.record(replace(waiting(s2, ENTERED), state=state), NOW)


def test_an_unknown_shipment_is_none(uow: UnitOfWork) -> None:
    with uow() as store:
        assert store.shipment("S-404") is None


def test_a_releases_draws_show_in_every_read_of_its_own_transaction(
    uow: UnitOfWork, locked: bool
) -> None:
    waiting_s1(uow)
    stocked(uow)
    with uow() as store:
        if locked:
            store.lock_skus(["KTP", "KTP2"])
        release_s1(store)
        assert store.stock_totals(["KTP", "KTP2"]) == {"KTP": 2, "KTP2": 7}
        assert store.stock_position("A", "KTP").free == 2
        assert store.current_stock(["KTP"]) == {("A", "KTP"): 2}
        assert store.supplies(["KTP2"]) == [supply("PO-1", "B", "KTP2", 10, promised=3)]
        assert store.assigned_since("A", "KTP", NOW - timedelta(seconds=1)) == 5
        assert store.supply("PO-1") == supply("PO-1", "B", "KTP2", 10, promised=3)
