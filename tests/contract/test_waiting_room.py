"""The waiting room: ``waiting_page`` in release order (R7) page by page, ``waiting_skus``,
and ``read_ahead``, which changes no answer."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from backorder_worker.domain.model import Candidate, Origin, ReleaseOrder
from backorder_worker.domain.outcomes import WaitState
from backorder_worker.service_layer.ports import OrderKey, ReadAhead, Store, UnitOfWork
from tests.integration.postgres.world import CREATED, NOW, decide, set_up_catalog, shipment, waiting

FIFO, PRIORITY = ReleaseOrder.FIFO, ReleaseOrder.PRIORITY
ROOM = [  # (shipment, minutes after NOW it entered)
    (shipment("S-5", ("KTP", 1)), 0),
    (shipment("S-4", ("KTP", 1), ("KTP2", 1), priority=3), 0),
    (shipment("S-3", ("KTP2", 2), priority=9), 1),
    (shipment("S-2", ("KTP", 1), priority=3), 2),
    (shipment("S-1", ("OTHER", 1)), 3),
]


def fill(uow: UnitOfWork) -> None:
    with uow() as store:
        for s, minutes in ROOM:
            store.record(waiting(s, NOW + timedelta(minutes=minutes)), NOW)


def walk(store: Store, skus: list[str] | None, order: ReleaseOrder, size: int) -> list[str]:
    seen: list[str] = []
    after: OrderKey | None = None
    while page := store.waiting_page(skus, order, after, size):
        assert len(page) <= size
        seen += [c.shipment.shipment_id for c in page]
        last = page[-1]
        after = OrderKey(last.shipment.priority, last.entered_at, last.shipment.shipment_id)
    return seen


@pytest.mark.parametrize("size", [1, 2, 10])
def test_fifo_serves_the_earliest_entered_first_then_by_shipment_id(
    uow: UnitOfWork, size: int
) -> None:
    fill(uow)
    with uow() as store:
        assert walk(store, None, FIFO, size) == ["S-4", "S-5", "S-3", "S-2", "S-1"]
        assert walk(store, ["KTP"], FIFO, size) == ["S-4", "S-5", "S-2"]
        assert walk(store, ["KTP2", "OTHER"], FIFO, size) == ["S-4", "S-3", "S-1"]


@pytest.mark.parametrize("size", [1, 2, 10])
def test_priority_serves_the_highest_priority_first_then_fifo(uow: UnitOfWork, size: int) -> None:
    fill(uow)
    with uow() as store:
        assert walk(store, None, PRIORITY, size) == ["S-3", "S-4", "S-2", "S-5", "S-1"]
        assert walk(store, ["KTP"], PRIORITY, size) == ["S-4", "S-2", "S-5"]


def test_a_page_holds_candidates_as_they_entered_and_nothing_for_no_sku(
    uow: UnitOfWork,
) -> None:
    fill(uow)
    with uow() as store:
        (first,) = store.waiting_page(["KTP2"], PRIORITY, None, 1)
        s3 = ROOM[2][0]
        at = NOW + timedelta(minutes=1)
        assert first == Candidate(s3, at, Origin.WAITING, at)
        assert store.waiting_page([], FIFO, None, 10) == []
        assert store.waiting_page(["KTP"], FIFO, None, 0) == []
        after_all = OrderKey(0, NOW + timedelta(days=1), "S-9")
        assert store.waiting_page(None, FIFO, after_all, 10) == []


def test_waiting_skus_are_those_some_waiting_shipment_needs(uow: UnitOfWork, locked: bool) -> None:
    fill(uow)
    with uow() as store:
        if locked:
            store.lock_skus(["KTP", "KTP2", "NONE"])
        assert store.waiting_skus(["KTP", "KTP2", "NONE"]) == {"KTP", "KTP2"}
        store.record(waiting(shipment("S-6", ("NONE", 1)), NOW), NOW)
        assert store.waiting_skus(["KTP", "NONE"]) == {"KTP", "NONE"}
        assert store.waiting_skus([]) == set()


def test_reading_ahead_changes_no_answer(uow: UnitOfWork) -> None:
    fill(uow)
    with uow() as store:
        plain = [store.waiting_page([sku], FIFO, None, 2) for sku in ("KTP", "KTP2")]
        records = [store.shipment(i) for i in ("S-1", "S-9")]
    with uow() as store:
        store.read_ahead(
            ReadAhead(
                listings=frozenset({"KTP"}),
                first_pages=frozenset({"KTP", "KTP2"}),
                order=FIFO,
                page_size=3,
                shipment_ids=frozenset({"S-1", "S-9"}),
                supply_ids=frozenset({"PO-1"}),
            )
        )
        assert [store.waiting_page([sku], FIFO, None, 2) for sku in ("KTP", "KTP2")] == plain
        assert [store.shipment(i) for i in ("S-1", "S-9")] == records
        assert store.supply("PO-1") is None
        store.record(waiting(shipment("S-0", ("KTP", 1)), NOW - timedelta(days=1)), NOW)
        assert [c.shipment.shipment_id for c in store.waiting_page(["KTP"], FIFO, None, 2)] == [
            "S-0",
            "S-4",
        ]
        assert store.shipment("S-0") is not None


def test_waiting_skus_of_locked_skus_follow_what_this_transaction_records(uow: UnitOfWork) -> None:
    with uow() as store:
        set_up_catalog(store)
        store.record(waiting(shipment("S-1", ("KTP", 1)), NOW), NOW)
        store.record(waiting(shipment("S-2", ("KTP2", 1)), NOW), NOW)
        store.record(waiting(shipment("S-3", ("KTP3", 1)), NOW), NOW)
        store.set_free_stock("A", "KTP", 1)
    with uow() as store:
        store.lock_skus(["KTP", "KTP2", "KTP3"])
        assert store.waiting_skus(["KTP", "KTP2", "KTP3"]) == {"KTP", "KTP2", "KTP3"}
        (candidate,) = store.waiting_page(["KTP"], FIFO, None, 10)
        (released,) = decide(store, [candidate])
        store.record(released, NOW)
        (report,) = [
            waiting(c.shipment, c.entered_at) for c in store.waiting_page(["KTP2"], FIFO, None, 1)
        ]
        store.record(replace(report, state=WaitState.UNROUTABLE), NOW)
        store.cancel("S-3", CREATED, NOW)
        assert store.waiting_skus(["KTP", "KTP2", "KTP3"]) == set()


def test_a_later_page_shows_what_this_transaction_put_in_the_room_after_its_key(
    uow: UnitOfWork,
) -> None:
    fill(uow)
    with uow() as store:
        first = store.waiting_page(["KTP"], FIFO, None, 1)
        assert [c.shipment.shipment_id for c in first] == ["S-4"]
        store.record(waiting(shipment("S-45", ("KTP", 1)), NOW), NOW)
        last = first[-1]
        after = OrderKey(last.shipment.priority, last.entered_at, last.shipment.shipment_id)
        page = store.waiting_page(["KTP"], FIFO, after, 10)
        assert [c.shipment.shipment_id for c in page] == ["S-45", "S-5", "S-2"]


def test_a_later_page_leaves_out_what_this_transaction_took_out_of_the_room_after_its_key(
    uow: UnitOfWork,
) -> None:
    fill(uow)
    with uow() as store:
        set_up_catalog(store)
        store.set_free_stock("A", "KTP", 1)
        *_, s2 = store.waiting_page(["KTP"], FIFO, None, 10)
        (released,) = decide(store, [s2])
        store.record(released, NOW)
        (s3,) = [waiting(s, NOW + timedelta(minutes=m)) for s, m in ROOM if s.shipment_id == "S-3"]
        store.record(replace(s3, state=WaitState.UNROUTABLE), NOW)
        s4 = ROOM[1][0]
        after = OrderKey(s4.priority, NOW, s4.shipment_id)
        assert [c.shipment.shipment_id for c in store.waiting_page(["KTP"], FIFO, after, 10)] == [
            "S-5"
        ]
        assert store.waiting_page(["KTP2"], FIFO, after, 10) == []
