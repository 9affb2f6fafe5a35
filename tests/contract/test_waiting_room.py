"""The waiting room: ``waiting_page`` in release order (R7) page by page, ``waiting_skus``,
and ``read_ahead``, which changes no answer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backorder_worker.domain.model import Candidate, Origin, ReleaseOrder
from backorder_worker.service_layer.ports import OrderKey, ReadAhead, Store, UnitOfWork
from tests.integration.postgres.world import NOW, shipment, waiting

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
