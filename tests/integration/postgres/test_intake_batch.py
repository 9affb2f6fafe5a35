"""A batch of new shipments on the real Postgres store: every report of the batch is
written whole, by one upsert, and every waiting shipment enters the room by one insert.

The batch below mixes what a new shipment can carry (pickup, priority, split, backorder
days, several lines) and what a report writes (reasons, due time, overdue), so a column
lost or mangled on the way to the rows shows as a difference with the decisions made.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from backorder_worker.adapters.event_codec import decision_encoder
from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.adapters.postgres.rows import reasons_json
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.adapters.postgres.tables import shipments, waiting_skus
from backorder_worker.adapters.postgres.waiting_room import enter_waiting_room
from backorder_worker.bootstrap import batch_retry
from backorder_worker.domain.model import FulfillmentType, Line, ReleaseOrder, Shipment
from backorder_worker.domain.outcomes import ShipmentUnroutable, WaitState
from backorder_worker.entrypoints.worker.batch import BatchProcessor
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer.batch import ApplyBatch
from backorder_worker.service_layer.ports import ShipmentState
from backorder_worker.service_layer.results import Applied
from backorder_worker.wire.input_events import build_event
from tests.integration.postgres.conftest import TOPICS
from tests.support.driver import T0, Driver

SKUS = ("KTP", "KTP2", "KTP3")


def created(i: int) -> dict[str, Any]:
    bopis = i % 3 == 0
    return {
        "shipment_id": f"N-{i:03d}",
        "order_id": f"O-{i:03d}",
        "fulfillment_type": "BOPIS" if bopis else "STH",
        "pickup_location_id": "A" if bopis else None,
        "priority": i % 4,
        "split_allowed": [None, True, False][i % 3],
        "backorder_days": None if i % 2 else 3 + i % 5,
        "lines": [
            {"line_id": f"N-{i:03d}-{n}", "sku": sku, "quantity": 1 + (i + n) % 3}
            for n, sku in enumerate(SKUS[: 1 + i % 3])
        ],
    }


def record(i: int) -> SourceRecord:
    _, value = build_event("shipment.created", created(i), event_id=f"created-{i}")
    return SourceRecord("shipments", 0, i, f"O-{i:03d}".encode(), value, (), 0)


@contextmanager
def statements(engine: sa.Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def test_a_batch_of_new_shipments_is_written_whole_by_one_upsert_and_one_room_insert(
    engine: sa.Engine,
) -> None:
    uow = PostgresUnitOfWork(engine, TOPICS, encode=decision_encoder(TOPICS))
    feed = Driver(uow)
    feed.seed_catalog()  # no stock anywhere: every new shipment waits
    processor = BatchProcessor(ApplyBatch(uow, feed.policy, lambda: T0, batch_retry()), Metrics())
    count = 24

    with statements(engine) as seen:
        result = processor.process([record(i) for i in range(count)])

    assert result.applied == count
    reports = [
        d
        for _, _, outcome in result.outcomes
        if isinstance(outcome, Applied)
        for d in outcome.decisions
        if isinstance(d, ShipmentUnroutable)
    ]
    assert [d.shipment.shipment_id for d in reports] == [f"N-{i:03d}" for i in range(count)]
    assert all(d.state is WaitState.WAITING and d.reasons for d in reports)
    upserts = [s for s in seen if s.lstrip().startswith("INSERT INTO shipments ")]
    entries = [s for s in seen if s.lstrip().startswith("INSERT INTO waiting_skus ")]
    assert (len(upserts), len(entries)) == (1, 1)

    with engine.connect() as conn:
        rows = {r.shipment_id: r for r in conn.execute(sa.select(shipments))}
        room = set(conn.execute(sa.select(waiting_skus.c.shipment_id, waiting_skus.c.sku)).all())
    for decision in reports:
        row = rows[decision.shipment.shipment_id]
        entered = decision.candidate.entered_at
        assert (row.state, row.entered_at, row.backordered_at) == ("WAITING", entered, entered)
        assert row.reasons == reasons_json(decision.reasons)
        assert (row.expected_release_by, row.overdue) == (
            decision.expected_release_by,
            decision.overdue,
        )
    assert room == {
        (d.shipment.shipment_id, sku) for d in reports for sku in sorted(d.shipment.skus)
    }
    with uow() as store:
        for i in range(count):
            found = store.shipment(f"N-{i:03d}")
            assert found is not None
            assert found.state is ShipmentState.WAITING
            data = created(i)
            assert found.shipment == Shipment(
                shipment_id=data["shipment_id"],
                order_id=data["order_id"],
                fulfillment_type=FulfillmentType(data["fulfillment_type"]),
                lines=tuple(Line(ln["line_id"], ln["sku"], ln["quantity"]) for ln in data["lines"]),
                pickup_location_id=data["pickup_location_id"],
                priority=data["priority"],
                split_allowed=data["split_allowed"],
                backorder_days=data["backorder_days"],
            )
        page = store.waiting_page(["KTP3"], ReleaseOrder.PRIORITY, None, 100)
    expected = sorted(
        (d for d in reports if "KTP3" in d.shipment.skus),
        key=lambda d: (-d.shipment.priority, d.shipment.shipment_id),
    )
    assert [c.shipment.shipment_id for c in page] == [d.shipment.shipment_id for d in expected]
    with statements(engine) as again:  # another size: the same statement texts (one plan)
        assert processor.process([record(i) for i in range(count, count + 5)]).applied == 5
    assert [s for s in again if s in upserts or s in entries] == [*upserts, *entries]


def test_a_shipment_entered_twice_in_one_call_is_indexed_as_the_later_entry_says(
    engine: sa.Engine,
) -> None:
    uow = PostgresUnitOfWork(engine, TOPICS, encode=decision_encoder(TOPICS))
    Driver(uow).seed_catalog()
    processor = BatchProcessor(
        ApplyBatch(uow, Driver(uow).policy, lambda: T0, batch_retry()), Metrics()
    )
    processor.process([record(2)])  # N-002 waits for KTP, KTP2, KTP3
    first = Shipment("N-002", "O-002", FulfillmentType.STH, (Line("l", "KTP", 1),), priority=1)
    later = Shipment("N-002", "O-002", FulfillmentType.STH, (Line("l", "KTP", 1),), priority=7)
    with engine.begin() as conn:
        before = conn.execute(
            sa.select(shipments.c.entered_at).where(shipments.c.shipment_id == "N-002")
        ).scalar_one()
        enter_waiting_room(conn, [(first, T0), (later, T0 + timedelta(hours=1))])
        rows = conn.execute(
            sa.select(waiting_skus.c.sku, waiting_skus.c.priority, waiting_skus.c.entered_at)
            .where(waiting_skus.c.shipment_id == "N-002")
            .order_by(waiting_skus.c.sku)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("KTP", 7, T0 + timedelta(hours=1)),
        ("KTP2", 2, before),
        ("KTP3", 2, before),
    ]
