"""One lock per SKU per transaction, one demand read, one inbox claim: a batch of stock
events for one SKU, counted statement by statement on the real Postgres store.

The handlers ask the store for the SKU's lock and its demand once per event (and a round
asks again); the store answers the repeats from what the transaction already holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.event_codec import decision_encoder
from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.adapters.postgres.locks import sku_lock_key
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.bootstrap import batch_retry
from backorder_worker.entrypoints.worker.batch import BatchProcessor
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer.batch import ApplyBatch
from backorder_worker.wire.input_events import build_event
from tests.integration.postgres.conftest import TOPICS
from tests.support.driver import T0, Driver, order

EVENTS = 6


def stowed(offset: int) -> SourceRecord:
    data = {"location_id": "A", "sku": "KTP", "quantity": 1}
    _, value = build_event("stock.stowed", data, event_id=f"stow-{offset}")
    return SourceRecord("stock-stowed", 0, offset, b"KTP", value, (), 0)


@contextmanager
def statements(engine: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def note(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((statement, params))

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def _locks_of_ktp(seen: list[tuple[str, Any]]) -> int:
    key = sku_lock_key("KTP")
    return sum(
        1
        for statement, params in seen
        if "advisory_xact_lock" in statement
        and isinstance(params, dict)
        and key in params.get("keys", [])
    )


def _demand_reads(seen: list[tuple[str, Any]]) -> int:
    return sum(1 for statement, _ in seen if "EXISTS" in statement and "waiting_skus" in statement)


def _inbox_claims(seen: list[tuple[str, Any]]) -> int:
    return sum(1 for statement, _ in seen if statement.lstrip().startswith("INSERT INTO inbox"))


@pytest.mark.parametrize("waiting", [False, True], ids=["nobody-waits", "a-shipment-waits"])
def test_a_batch_of_stock_events_for_one_sku_locks_it_once_reads_demand_once_claims_once(
    engine: sa.Engine, waiting: bool
) -> None:
    uow = PostgresUnitOfWork(engine, TOPICS, encode=decision_encoder(TOPICS))
    feed = Driver(uow)
    feed.seed_catalog()
    if waiting:
        feed.apply(order("S-1", ("KTP", 100)))  # waits: the batch's units are not enough
    processor = BatchProcessor(ApplyBatch(uow, feed.policy, lambda: T0, batch_retry()), Metrics())

    with statements(engine) as seen:
        result = processor.process([stowed(offset) for offset in range(EVENTS)])

    assert result.applied == EVENTS
    assert (_locks_of_ktp(seen), _demand_reads(seen), _inbox_claims(seen)) == (1, 1, 1)


# A stow that releases the one shipment waiting for its SKU (the idle-latency probe), one
# event a batch: claim, locks, demand with its listings, the first page, the SKU's stock
# and supplies, the locations; then the flush: positions, the shipment with its leaving the
# room and its history row (one statement), the draw with its ledger row (one), the outbox.
PROBE_STATEMENTS = 10


def test_a_stow_that_releases_one_waiting_shipment_costs_a_fixed_few_statements(
    engine: sa.Engine,
) -> None:
    uow = PostgresUnitOfWork(engine, TOPICS, encode=decision_encoder(TOPICS))
    feed = Driver(uow)
    feed.seed_catalog()
    feed.apply(order("S-1", ("KTP", 1)))  # waits: nothing in stock
    processor = BatchProcessor(ApplyBatch(uow, feed.policy, lambda: T0, batch_retry()), Metrics())

    with statements(engine) as seen:
        result = processor.process([stowed(0)])

    assert result.applied == 1
    assert [row.topic for row in result.outbox_rows] == [TOPICS.shipment_released]
    listing_reads = [s for s, _ in seen if "FROM listings" in s and "waiting_skus" not in s]
    assert listing_reads == []  # they came with the demand read
    assert len(seen) <= PROBE_STATEMENTS, "\n".join(s.split("\n")[0] for s, _ in seen)
    with engine.connect() as conn:  # what rode along on other statements is there
        history = sa.text(
            "SELECT state FROM shipment_history WHERE shipment_id = 'S-1' ORDER BY id"
        )
        assert list(conn.execute(history).scalars()) == ["WAITING", "READY"]
        ledger = sa.text("SELECT shipment_id, quantity FROM allocations")
        assert [tuple(row) for row in conn.execute(ledger)] == [("S-1", 1)]
        room = sa.text("SELECT count(*) FROM waiting_skus WHERE shipment_id = 'S-1'")
        assert conn.execute(room).scalar_one() == 0
