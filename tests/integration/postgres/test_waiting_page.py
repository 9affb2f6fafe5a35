"""Reading the waiting room in release order (R7), page by page, from its indexes."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.domain.model import Candidate, ReleaseOrder
from backorder_worker.service_layer.ports import OrderKey, Store
from tests.integration.postgres.world import CREATED, NOW, shipment, waiting

FIFO, PRIORITY = ReleaseOrder.FIFO, ReleaseOrder.PRIORITY


def _walk(store: Store, skus: list[str] | None, order: ReleaseOrder, page_size: int) -> list[str]:
    seen: list[str] = []
    after: OrderKey | None = None
    while True:
        page = store.waiting_page(skus, order, after, page_size)
        seen += [c.shipment.shipment_id for c in page]
        if len(page) < page_size:
            return seen
        last = page[-1]
        after = OrderKey(last.shipment.priority, last.entered_at, last.shipment.shipment_id)


def _release_key(order: ReleaseOrder, candidate: Candidate) -> tuple[int, datetime, str]:
    priority = -candidate.shipment.priority if order is PRIORITY else 0
    return priority, candidate.entered_at, candidate.shipment.shipment_id


def test_fifo_serves_the_earliest_entered_first_and_breaks_ties_by_shipment_id(
    uow: PostgresUnitOfWork,
) -> None:
    with uow() as store:
        store.record(waiting(shipment("S-3", ("KTP", 1)), NOW), NOW)
        store.record(waiting(shipment("S-2", ("KTP", 1), priority=9), NOW), NOW)
        store.record(waiting(shipment("S-1", ("KTP", 1)), NOW + timedelta(minutes=1)), NOW)

        assert _walk(store, ["KTP"], FIFO, 10) == ["S-2", "S-3", "S-1"]
        assert _walk(store, ["KTP"], PRIORITY, 10) == ["S-2", "S-3", "S-1"]
        assert _walk(store, None, FIFO, 1) == ["S-2", "S-3", "S-1"]


def test_priority_order_serves_higher_priority_first_then_fifo(
    uow: PostgresUnitOfWork,
) -> None:
    with uow() as store:
        store.record(waiting(shipment("S-1", ("KTP", 1), priority=0), NOW), NOW)
        store.record(waiting(shipment("S-2", ("KTP", 1), priority=5), NOW + timedelta(1)), NOW)
        store.record(waiting(shipment("S-3", ("KTP", 1), priority=5), NOW + timedelta(2)), NOW)

        assert _walk(store, ["KTP"], PRIORITY, 1) == ["S-2", "S-3", "S-1"]
        assert _walk(store, None, PRIORITY, 2) == ["S-2", "S-3", "S-1"]


def test_a_shipment_needing_several_asked_skus_appears_once(uow: PostgresUnitOfWork) -> None:
    with uow() as store:
        store.record(waiting(shipment("S-1", ("KTP", 1), ("KTP2", 1)), NOW), NOW)
        store.record(waiting(shipment("S-2", ("KTP2", 1)), NOW + timedelta(1)), NOW)
        store.record(waiting(shipment("S-3", ("OTHER", 1)), NOW + timedelta(1)), NOW)

        page = store.waiting_page(["KTP", "KTP2"], FIFO, None, 2)
        assert [c.shipment.shipment_id for c in page] == ["S-1", "S-2"]
        assert page[0].shipment == shipment("S-1", ("KTP", 1), ("KTP2", 1))
        assert store.waiting_page([], FIFO, None, 10) == []
        assert store.waiting_page(["KTP"], FIFO, None, 0) == []


@pytest.mark.parametrize("order", [FIFO, PRIORITY])
def test_paging_any_sku_filter_gives_exactly_the_release_order_of_the_waiting_ones(
    uow: PostgresUnitOfWork, order: ReleaseOrder
) -> None:
    rng = random.Random(20260501)
    skus = ["X", "Y", "Z"]
    with uow() as store:
        for n in range(40):
            needs = rng.sample(skus, rng.randint(1, 3))
            entered = NOW + timedelta(minutes=rng.randint(0, 5))  # many ties
            s = shipment(
                f"S-{n:02d}", *((sku, 1) for sku in needs), priority=rng.choice([-1, 0, 2])
            )
            store.record(waiting(s, entered), NOW)
            if n % 7 == 0:
                store.cancel(s.shipment_id, CREATED, NOW)
        everyone = store.waiting_page(None, order, None, 1000)
        assert len(everyone) == 34

        for wanted in (None, ["X"], ["Y", "X"], ["Z", "Y", "X"], ["NOBODY"]):
            expected = [
                c.shipment.shipment_id
                for c in sorted(everyone, key=lambda c: _release_key(order, c))
                if wanted is None or c.shipment.skus & set(wanted)
            ]
            for page_size in (1, 3, 50):
                assert _walk(store, wanted, order, page_size) == expected, (wanted, page_size)
