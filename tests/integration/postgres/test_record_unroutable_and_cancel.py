"""Waiting, unroutable and cancelled shipments, and dead letters, as the store keeps them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.postgres.outbox import PostgresOutbox
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.adapters.postgres.tables import shipment_history
from backorder_worker.domain.model import Candidate, FenceMode, Origin, ReleaseOrder, ReleasePolicy
from backorder_worker.domain.outcomes import ShipmentUnroutable, WaitState
from backorder_worker.service_layer.ports import (
    ConcurrentRelease,
    DeadLetter,
    ShipmentState,
)
from backorder_worker.wire import decode_output_event
from backorder_worker.wire.outputs import ShipmentUnroutableData
from tests.integration.postgres.conftest import TOPICS
from tests.integration.postgres.world import (
    CREATED,
    NOW,
    decide,
    set_up_catalog,
    shipment,
    waiting,
)

S1 = shipment("S-1", ("KTP", 5), ("KTP2", 3))
FIFO = ReleaseOrder.FIFO


def test_a_shipment_that_cannot_be_completed_waits_with_its_reasons_and_event(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox
) -> None:
    with uow() as store:
        set_up_catalog(store)
        (decision,) = decide(store, [Candidate(S1, NOW, Origin.INTAKE)], CREATED)
        store.record(decision, NOW)

    with uow() as store:
        record = store.shipment("S-1")
        assert record is not None
        assert (record.state, record.entered_at, record.backordered_at) == (
            ShipmentState.WAITING,
            NOW,
            NOW,
        )
        assert record.shipment == S1
        assert store.waiting_skus(["KTP", "KTP2", "OTHER"]) == {"KTP", "KTP2"}
    (row,) = relay_outbox.pending(10, 0)
    assert (row.topic, row.key, row.event_id) == (
        TOPICS.still_unroutable,
        b"O-S-1",
        decision.event_id,
    )
    data = decode_output_event(row.value).data
    assert isinstance(data, ShipmentUnroutableData)
    assert data.state == "WAITING" and not data.overdue
    assert data.expected_release_by == NOW + timedelta(days=14)
    assert [(r.fence, r.mode, r.sku, r.requested, r.assignable) for r in data.reasons] == [
        ("complete-stock", "reactive", "KTP", 5, 0),
        ("complete-stock", "reactive", "KTP2", 3, 0),
    ]


def test_a_static_block_makes_it_unroutable_and_takes_it_out_of_the_waiting_room(
    uow: PostgresUnitOfWork,
) -> None:
    with uow() as store:
        set_up_catalog(store)
        store.record(waiting(S1, NOW), NOW)
        (decision,) = decide(
            store,
            [Candidate(S1, NOW, Origin.WAITING, NOW)],
            policy=ReleasePolicy(complete_stock_mode=FenceMode.STATIC),
        )
        assert isinstance(decision, ShipmentUnroutable)
        assert decision.state is WaitState.UNROUTABLE
        store.record(decision, NOW)

    with uow() as store:
        record = store.shipment("S-1")
        assert record is not None and record.state is ShipmentState.UNROUTABLE
        assert store.waiting_page(None, FIFO, None, 10) == []
        assert store.waiting_skus(["KTP"]) == set()


def test_a_waiting_shipment_reported_again_keeps_its_place_in_the_room(
    uow: PostgresUnitOfWork, engine: sa.Engine
) -> None:
    later = NOW + timedelta(hours=1)
    with uow() as store:
        store.record(waiting(S1, NOW), NOW)
        store.record(waiting(S1, NOW), later)
        (candidate,) = store.waiting_page(["KTP"], FIFO, None, 10)

    assert (candidate.entered_at, candidate.origin) == (NOW, Origin.WAITING)
    with engine.connect() as conn:
        history = conn.execute(sa.select(shipment_history.c.at, shipment_history.c.state)).all()
    assert history == [(NOW, "WAITING"), (later, "WAITING")]


def test_a_cancelled_shipment_leaves_the_room_and_never_waits_again(
    uow: PostgresUnitOfWork,
) -> None:
    with uow() as store:
        store.record(waiting(S1, NOW), NOW)
    with uow() as store:
        before = store.cancel("S-1", CREATED, NOW)
        again = store.cancel("S-1", CREATED, NOW)
        unknown = store.cancel("S-404", CREATED, NOW)

    assert before is not None and before.state is ShipmentState.WAITING
    assert again is not None and again.state is ShipmentState.CANCELLED
    assert unknown is None
    with uow() as store:
        assert store.waiting_page(None, FIFO, None, 10) == []
        assert store.waiting_skus(["KTP", "KTP2"]) == set()
    with pytest.raises(ConcurrentRelease), uow() as store:
        store.record(waiting(S1, NOW), NOW)


def test_short_picks_are_counted_per_shipment(uow: PostgresUnitOfWork) -> None:
    with uow() as store:
        store.record(waiting(S1, NOW), NOW)
        assert [store.count_short_pick("S-1") for _ in range(3)] == [1, 2, 3]
        with pytest.raises(LookupError):
            store.count_short_pick("S-404")
    with uow() as store:
        record = store.shipment("S-1")
        assert record is not None and record.short_picks == 3


def test_a_dead_letter_keeps_key_value_and_headers_and_adds_the_error(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox
) -> None:
    letter = DeadLetter(
        key=b"KTP",
        value=b"{not json",
        error_type="malformed-json",
        error_message="not valid JSON: Expecting property name",
        source_topic="stock-stowed",
        source_partition=3,
        source_offset=1234,
        headers=(("trace", b"\x00\xff"), ("error.type", b"old")),
    )
    with uow() as store:
        store.dead_letter(letter)
        ids = store.outbox_ids()

    (row,) = relay_outbox.rows(ids)
    assert (row.topic, row.key, row.value, row.event_id) == (
        TOPICS.dead_letter,
        b"KTP",
        b"{not json",
        None,
    )
    assert list(row.headers) == [
        ("error.type", b"malformed-json"),
        ("error.message", b"not valid JSON: Expecting property name"),
        ("source.topic", b"stock-stowed"),
        ("source.partition", b"3"),
        ("source.offset", b"1234"),
        ("trace", b"\x00\xff"),
    ]
