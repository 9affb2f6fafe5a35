"""Recording a release: stock and supply drawn, children and ledger written, event queued."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.postgres.draws import OversellRefused
from backorder_worker.adapters.postgres.outbox import PostgresOutbox
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.adapters.postgres.tables import allocations
from backorder_worker.domain.model import Candidate, Origin, ReleaseOrder
from backorder_worker.domain.outcomes import ShipmentReleased
from backorder_worker.service_layer.ports import ConcurrentRelease, ShipmentState
from backorder_worker.wire import decode_output_event
from backorder_worker.wire.outputs import ShipmentReleasedData
from tests.integration.postgres.conftest import TOPICS
from tests.integration.postgres.world import (
    NOW,
    STOWED,
    decide,
    set_up_catalog,
    shipment,
    supply,
    waiting,
)

ENTERED = NOW - timedelta(days=3)
FIFO = ReleaseOrder.FIFO
S1 = shipment("S-1", ("KTP", 5), ("KTP2", 3))


def _waiting_s1(uow: PostgresUnitOfWork) -> None:
    with uow() as store:
        set_up_catalog(store)
        store.record(waiting(S1, ENTERED), ENTERED)


def _release_s1(uow: PostgresUnitOfWork) -> ShipmentReleased:
    """KTP from current stock at A, KTP2 from a supply at B: two children."""
    with uow() as store:
        store.set_free_stock("A", "KTP", 7)
        store.save_supply(supply("PO-1", "B", "KTP2", 10))
        (candidate,) = store.waiting_page(["KTP"], FIFO, None, 10)
        (decision,) = decide(store, [candidate])
        assert isinstance(decision, ShipmentReleased)
        store.record(decision, NOW)
        return decision


def test_a_release_draws_stock_and_supply_and_writes_children_ledger_and_event(
    uow: PostgresUnitOfWork, engine: sa.Engine, relay_outbox: PostgresOutbox
) -> None:
    _waiting_s1(uow)
    decision = _release_s1(uow)

    with uow() as store:
        assert store.stock_position("A", "KTP").free == 2
        supplied = store.supply("PO-1")
        assert supplied is not None and supplied.promised == 3
        parent = store.shipment("S-1")
        assert parent is not None and parent.state is ShipmentState.REASSIGNED
        ready, future = store.shipment("S-1-R1"), store.shipment("S-1-R2")
        assert ready is not None and future is not None
        assert (ready.state, ready.location_id, ready.parent_id) == (
            ShipmentState.READY,
            "A",
            "S-1",
        )
        assert [(ln.sku, ln.quantity) for ln in ready.shipment.lines] == [("KTP", 5)]
        assert (future.state, future.location_id) == (ShipmentState.FUTURE, "B")
        assert future.expected_date == supply("PO-1", "B", "KTP2", 10).expected_date
        assert store.waiting_skus(["KTP", "KTP2"]) == set()
    with engine.connect() as conn:
        ledger = conn.execute(
            sa.select(
                allocations.c.shipment_id, allocations.c.supply_id, allocations.c.quantity
            ).order_by(allocations.c.id)
        ).all()
    assert ledger == [("S-1-R1", None, 5), ("S-1-R2", "PO-1", 3)]

    rows = relay_outbox.pending(limit=10, older_than_s=0)
    assert [row.topic for row in rows] == [TOPICS.still_unroutable, TOPICS.shipment_released]
    released = rows[1]
    assert released.key == b"O-S-1" and released.event_id == decision.event_id
    event = decode_output_event(released.value, released.headers)
    assert (event.id, event.type, event.time) == (decision.event_id, "shipment.released", NOW)
    data = event.data
    assert isinstance(data, ShipmentReleasedData)
    assert (data.release, data.parent_status) == ("CURRENT_AND_FUTURE", "REASSIGNED")
    assert [(s.shipment_id, s.status, s.location_id) for s in data.shipments] == [
        ("S-1-R1", "READY", "A"),
        ("S-1-R2", "FUTURE", "B"),
    ]
    assert data.shipments[0].expected_date is None
    assert data.shipments[1].expected_date == supply("PO-1", "B", "KTP2", 10).expected_date
    assert data.backordered_at == ENTERED and data.released_at == NOW
    assert (data.trigger.id, data.trigger.type) == (STOWED.event_id, STOWED.event_type)


def test_a_release_at_intake_inserts_the_shipment_and_its_split_off_remainder_waits(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox
) -> None:
    """R8: KTP is there, KTP2 is not: KTP goes out on S-1, KTP2 waits as S-1-B."""
    with uow() as store:
        set_up_catalog(store)
        store.set_free_stock("B", "KTP", 5)
        released, remainder = decide(store, [Candidate(S1, NOW, Origin.INTAKE)])
        store.record(released, NOW)
        store.record(remainder, NOW)
        outbox_ids = store.outbox_ids()

    with uow() as store:
        parent, split_off = store.shipment("S-1"), store.shipment("S-1-B")
        (waiting_one,) = store.waiting_page(["KTP2"], FIFO, None, 10)
    assert parent is not None and split_off is not None
    assert (parent.state, parent.location_id, parent.parent_id) == (ShipmentState.READY, "B", None)
    assert [(ln.sku, ln.quantity) for ln in parent.shipment.lines] == [("KTP", 5)]
    assert (split_off.state, split_off.parent_id) == (ShipmentState.WAITING, "S-1")
    assert waiting_one.shipment == split_off.shipment
    assert [(ln.sku, ln.quantity) for ln in split_off.shipment.lines] == [("KTP2", 3)]
    rows = relay_outbox.rows(outbox_ids)
    assert [row.topic for row in rows] == [TOPICS.shipment_released, TOPICS.still_unroutable]
    data = decode_output_event(rows[0].value).data
    assert isinstance(data, ShipmentReleasedData)
    assert (data.parent_status, data.split_off_shipment_id) == ("READY", "S-1-B")
    assert data.backordered_at is None


def test_releasing_a_shipment_that_is_no_longer_waiting_raises_concurrent_release(
    uow: PostgresUnitOfWork,
) -> None:
    _waiting_s1(uow)
    with uow() as store:
        store.set_free_stock("A", "KTP", 5)
        store.set_free_stock("A", "KTP2", 3)
        (candidate,) = store.waiting_page(None, FIFO, None, 10)
        (decision,) = decide(store, [candidate])
    with uow() as store:
        store.cancel("S-1", STOWED, NOW)  # another transaction got there first

    with pytest.raises(ConcurrentRelease), uow() as store:
        store.record(decision, NOW)
    with uow() as store:
        assert store.stock_position("A", "KTP").free == 5  # nothing drawn


def test_a_shipment_is_released_at_most_once(uow: PostgresUnitOfWork) -> None:
    _waiting_s1(uow)
    with uow() as store:
        store.set_free_stock("A", "KTP", 10)
        store.set_free_stock("A", "KTP2", 10)
        (candidate,) = store.waiting_page(None, FIFO, None, 10)
        (decision,) = decide(store, [candidate])
    with uow() as store:
        store.record(decision, NOW)

    with pytest.raises(ConcurrentRelease), uow() as store:
        store.record(decision, NOW)
    with uow() as store:
        assert store.stock_position("A", "KTP").free == 5


def test_the_database_refuses_to_draw_more_than_is_free(uow: PostgresUnitOfWork) -> None:
    _waiting_s1(uow)
    with uow() as store:
        store.set_free_stock("A", "KTP", 5)
        store.set_free_stock("A", "KTP2", 3)
        (candidate,) = store.waiting_page(None, FIFO, None, 10)
        (decision,) = decide(store, [candidate])
    with uow() as store:
        store.set_free_stock("A", "KTP", 4)  # stock moved after the decision was made

    with pytest.raises(OversellRefused), uow() as store:
        store.record(decision, NOW)
    with uow() as store:
        assert store.stock_position("A", "KTP").free == 4
        record = store.shipment("S-1")
        assert record is not None and record.state is ShipmentState.WAITING


def test_the_database_refuses_to_promise_more_than_a_supply_holds(
    uow: PostgresUnitOfWork,
) -> None:
    _waiting_s1(uow)
    with uow() as store:
        store.set_free_stock("A", "KTP", 5)
        store.save_supply(supply("PO-1", "A", "KTP2", 3))
        (candidate,) = store.waiting_page(None, FIFO, None, 10)
        (decision,) = decide(store, [candidate])
    with uow() as store:
        store.save_supply(supply("PO-1", "A", "KTP2", 3, promised=1))

    with pytest.raises(OversellRefused), uow() as store:
        store.record(decision, NOW)
