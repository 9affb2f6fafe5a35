"""Cancelling (``cancel``) and the shipments the worker made from another
(``descendants``, ``link_remainder``), short picks (``count_short_pick``,
``replace_lines``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from backorder_worker.domain.model import (
    Candidate,
    Line,
    Origin,
    PartialRelease,
    ReleaseOrder,
    ReleasePolicy,
)
from backorder_worker.domain.outcomes import ShipmentReleased, ShipmentUnroutable
from backorder_worker.service_layer.ports import ShipmentRecord, ShipmentState, UnitOfWork
from tests.contract.test_decisions import ENTERED, S1, release_s1, stocked, waiting_s1
from tests.integration.postgres.world import CREATED, NOW, decide, set_up_catalog, shipment, waiting

FIFO = ReleaseOrder.FIFO
S2 = shipment("S-2", ("KTP", 1))


def test_cancelling_an_unknown_shipment_answers_none_and_keeps_nothing(uow: UnitOfWork) -> None:
    with uow() as store:
        assert store.cancel("S-404", CREATED, NOW) is None
    with uow() as store:
        assert store.shipment("S-404") is None
        assert store.outbox_ids() == []


def test_cancelling_answers_the_record_as_it_was_and_takes_it_out_of_the_room(
    uow: UnitOfWork,
) -> None:
    with uow() as store:
        store.record(waiting(S2, ENTERED), ENTERED)
    was = ShipmentRecord(S2, ShipmentState.WAITING, ENTERED, ENTERED)
    with uow() as store:
        assert store.cancel("S-2", CREATED, NOW) == was
        assert store.waiting_page(None, FIFO, None, 10) == []
    cancelled = replace(was, state=ShipmentState.CANCELLED)
    with uow() as store:
        assert store.shipment("S-2") == cancelled
        assert store.waiting_skus(["KTP"]) == set()
        assert store.cancel("S-2", CREATED, NOW) == cancelled  # again: as it is


def test_a_remainder_cancelled_with_its_parent_queues_its_report_once(uow: UnitOfWork) -> None:
    report = waiting(S2, ENTERED)
    assert isinstance(report, ShipmentUnroutable)
    with uow() as store:
        store.record(report, ENTERED)
    with uow() as store:
        store.cancel("S-2", CREATED, NOW, report=replace(report, event_id="cancelled-S-2"))
        assert [row.event_id for row in store.outbox_rows()] == ["cancelled-S-2"]
    with uow() as store:
        store.cancel("S-2", CREATED, NOW, report=replace(report, event_id="again-S-2"))
        assert store.outbox_rows() == []


def test_descendants_are_children_split_offs_and_linked_remainders_at_any_depth(
    uow: UnitOfWork,
) -> None:
    waiting_s1(uow)
    stocked(uow)
    with uow() as store:
        decision = release_s1(store)
        store.record(waiting(shipment("S-1-R1-SP1", ("KTP", 1)), NOW), NOW)
        store.record(waiting(shipment("S-0", ("KTP", 1)), NOW), NOW)
    ready = decision.shipments[0].shipment_id
    with uow() as store:
        store.link_remainder("S-1-R1-SP1", ready)
        assert store.descendants("S-0") == []
    with uow() as store:
        found = store.descendants("S-1")
        assert [r.shipment.shipment_id for r in found] == sorted(
            [s.shipment_id for s in decision.shipments] + ["S-1-R1-SP1"]
        )
        assert {r.shipment.shipment_id: r.parent_id for r in found}["S-1-R1-SP1"] == ready
        assert [r.shipment.shipment_id for r in store.descendants(ready)] == ["S-1-R1-SP1"]


def test_a_split_off_enters_the_room_linked_to_its_parent(uow: UnitOfWork) -> None:
    policy = ReleasePolicy(partial_release=PartialRelease.QUANTITY)
    s3 = shipment("S-3", ("KTP", 5))
    with uow() as store:
        set_up_catalog(store)
        store.set_free_stock("A", "KTP", 2)
        store.record(waiting(s3, ENTERED), ENTERED)
    with uow() as store:
        (candidate,) = store.waiting_page(["KTP"], FIFO, None, 10)
        decision, *reports = decide(store, [candidate], policy=policy)  # the split-off's
        assert isinstance(decision, ShipmentReleased) and decision.split_off is not None
        for made in (decision, *reports):
            store.record(made, NOW)
    split = decision.split_off
    with uow() as store:
        (waits,) = store.waiting_page(["KTP"], FIFO, None, 10)
        assert waits == Candidate(
            split.shipment, split.entered_at, Origin.WAITING, split.backordered_at
        )
        kin = store.descendants("S-3")
        assert split.shipment.shipment_id in [r.shipment.shipment_id for r in kin]
        assert all(r.parent_id == "S-3" for r in kin)


def test_short_picks_are_counted_one_by_one(uow: UnitOfWork) -> None:
    with uow() as store:
        store.record(waiting(S2, ENTERED), ENTERED)
        assert store.count_short_pick("S-2") == 1
    with uow() as store:
        assert store.count_short_pick("S-2") == 2
    with uow() as store:
        record = store.shipment("S-2")
        assert record is not None and record.short_picks == 2


def test_replacing_lines_keeps_those_with_units_left(uow: UnitOfWork) -> None:
    waiting_s1(uow)
    stocked(uow)
    with uow() as store:
        decision = release_s1(store)
    ready = decision.shipments[0].shipment_id
    with uow() as store:
        record = store.shipment(ready)
        assert record is not None
        (line,) = record.shipment.lines
        store.replace_lines(ready, [replace(line, quantity=2), Line("gone", "KTP", 0)])
    with uow() as store:
        after = store.shipment(ready)
        assert after is not None and after.shipment.lines == (replace(line, quantity=2),)
        store.replace_lines(ready, [replace(line, quantity=0)])
    with uow() as store:
        after = store.shipment(ready)
        assert after is not None and after.shipment.lines == ()
        assert after.state is ShipmentState.READY


def test_a_cancelled_parent_keeps_its_descendants_reachable(uow: UnitOfWork) -> None:
    with uow() as store:
        store.record(waiting(S1, ENTERED), ENTERED)
        store.record(waiting(S2, ENTERED + timedelta(minutes=1)), ENTERED)
        store.link_remainder("S-2", "S-1")
    with uow() as store:
        store.cancel("S-1", CREATED, NOW)
        (kin,) = store.descendants("S-1")
        assert (kin.shipment.shipment_id, kin.state) == ("S-2", ShipmentState.WAITING)


def test_a_cancelled_future_shipment_holds_no_promise(uow: UnitOfWork) -> None:
    waiting_s1(uow)
    stocked(uow)
    with uow() as store:
        decision = release_s1(store)
    future = decision.shipments[1].shipment_id
    with uow() as store:
        store.cancel(future, CREATED, NOW)
    with uow() as store:
        po1 = store.supply("PO-1")
        assert po1 is not None and store.promised_from(po1) == []


@pytest.mark.parametrize("lines", [[("KTP", 1)], [("KTP", 1), ("KTP2", 1)]], ids=["ready", "split"])
def test_a_released_remainder_keeps_its_link_and_short_pick_count(
    uow: UnitOfWork, lines: list[tuple[str, int]]
) -> None:
    remainder = shipment("S-1-SP1", *lines)
    with uow() as store:
        set_up_catalog(store)
        store.record(waiting(remainder, ENTERED), ENTERED)
        store.link_remainder("S-1-SP1", "S-1")
        store.count_short_pick("S-1-SP1")
    stocked(uow)
    with uow() as store:
        (candidate,) = store.waiting_page(["KTP"], FIFO, None, 10)
        (decision,) = decide(store, [candidate])
        assert isinstance(decision, ShipmentReleased)
        store.record(decision, NOW)
    with uow() as store:
        record = store.shipment("S-1-SP1")
        assert record is not None and record.state is ShipmentState(decision.parent_status.value)
        assert (record.parent_id, record.short_picks, record.entered_at) == ("S-1", 1, ENTERED)
