"""A transaction answers stock reads of the SKUs it holds locked from what it already read,
and its kept writes land in Postgres exactly as it saw them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa

from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.domain.model import Listing, OutOfStockBehaviour, ReleaseOrder
from backorder_worker.domain.outcomes import ShipmentReleased
from backorder_worker.service_layer.ports import ReadAhead, StockPosition
from tests.integration.postgres.world import NOW, decide, set_up_catalog, shipment, supply, waiting

FIFO = ReleaseOrder.FIFO


@contextmanager
def counting_statements(engine: sa.Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def _one_waiting(uow: PostgresUnitOfWork, sku: str, quantity: int) -> None:
    """The catalog, and S-1 waiting for ``quantity`` of ``sku``."""
    with uow() as store:
        set_up_catalog(store)
        store.record(waiting(shipment("S-1", (sku, quantity)), NOW), NOW)


def test_stock_of_locked_skus_is_read_once_however_often_it_is_asked_for(
    uow: PostgresUnitOfWork, engine: sa.Engine
) -> None:
    with uow() as store:
        store.set_free_stock("A", "KTP", 4)
        store.save_supply(supply("PO-1", "B", "KTP2", 6))

    with uow() as store, counting_statements(engine) as statements:
        store.lock_skus(["KTP", "KTP2"])
        locking = len(statements)
        for _ in range(5):
            assert store.current_stock(["KTP"]) == {("A", "KTP"): 4}
            assert store.stock_position("A", "KTP") == StockPosition("A", "KTP", 4)
            assert [s.supply_id for s in store.supplies(["KTP2"])] == ["PO-1"]
            assert store.supply("PO-1") == supply("PO-1", "B", "KTP2", 6)
        assert len(statements) - locking == 1  # positions and supplies, once, together


def test_kept_additions_levels_and_draws_land_as_the_transaction_saw_them(
    uow: PostgresUnitOfWork,
) -> None:
    _one_waiting(uow, "KTP", 5)
    with uow() as store:
        store.set_free_stock("A", "KTP", 2)
        store.set_free_stock("B", "KTP", 9)

    with uow() as store:
        store.lock_skus(["KTP"])
        store.add_free_stock_later("A", "KTP", 1)  # blind, before anything is read
        assert store.add_free_stock("A", "KTP", 2) == 3
        (candidate,) = store.waiting_page(["KTP"], FIFO, None, 10)
        (decision,) = decide(store, [candidate])
        assert isinstance(decision, ShipmentReleased)
        store.record(decision, NOW)  # draws 5 at A (B could too; A comes first by id)
        assert store.current_stock(["KTP"]) == {("A", "KTP"): 0, ("B", "KTP"): 9}
        store.set_free_stock("A", "KTP", 3, level_as_of=NOW)  # a level after the draw
        store.add_free_stock_later("B", "KTP", 1)
        seen = store.current_stock(["KTP"])

    with uow() as store:
        assert store.current_stock(["KTP"]) == seen == {("A", "KTP"): 3, ("B", "KTP"): 10}
        assert store.stock_position("A", "KTP") == StockPosition("A", "KTP", 3, NOW)


def test_a_supply_saved_after_a_kept_promise_from_it_keeps_that_promise(
    uow: PostgresUnitOfWork,
) -> None:
    _one_waiting(uow, "KTP2", 4)
    with uow() as store:
        store.save_supply(supply("PO-1", "B", "KTP2", 10))

    with uow() as store:
        store.lock_skus(["KTP2"])
        (candidate,) = store.waiting_page(["KTP2"], FIFO, None, 10)
        (decision,) = decide(store, [candidate])
        store.record(decision, NOW)  # promises 4 of PO-1
        promised = store.supply("PO-1")
        assert promised is not None and promised.promised == 4
        store.save_supply(supply("PO-1", "B", "KTP2", 12, promised=promised.promised))

    with uow() as store:
        assert store.supply("PO-1") == supply("PO-1", "B", "KTP2", 12, promised=4)


def test_a_supply_of_a_sku_not_locked_is_read_from_postgres_with_the_kept_writes(
    uow: PostgresUnitOfWork,
) -> None:
    with uow() as store:
        store.lock_skus(["KTP"])
        store.save_supply(supply("PO-1", "A", "KTP", 3))
        store.add_free_stock_later("A", "OTHER", 2)
        assert store.supply("PO-1") == supply("PO-1", "A", "KTP", 3)
        assert store.current_stock(["OTHER"]) == {("A", "OTHER"): 2}  # not locked: read
        assert store.supplies(["KTP", "OTHER"]) == [supply("PO-1", "A", "KTP", 3)]


def test_listings_of_locked_skus_are_read_once_and_follow_this_transactions_writes(
    uow: PostgresUnitOfWork, engine: sa.Engine
) -> None:
    with uow() as store:
        store.save_listing(Listing("KTP", OutOfStockBehaviour.BACKORDER))

    with uow() as store, counting_statements(engine) as statements:
        store.lock_skus(["KTP", "NONE"])
        before = len(statements)
        for _ in range(3):
            assert store.listings(["KTP", "NONE"]) == {
                ("KTP", None): Listing("KTP", OutOfStockBehaviour.BACKORDER)
            }
        assert len(statements) - before == 1
        store.save_listing(Listing("NONE", OutOfStockBehaviour.PREORDER))
        assert store.listings(["NONE"]) == {
            ("NONE", None): Listing("NONE", OutOfStockBehaviour.PREORDER)
        }


def test_a_promise_from_a_supply_saved_here_survives_loading_more_skus(
    uow: PostgresUnitOfWork,
) -> None:
    _one_waiting(uow, "KTP2", 4)

    with uow() as store:
        store.lock_skus(["KTP2"])
        store.save_supply(supply("PO-1", "B", "KTP2", 5))  # kept, before KTP2 is read
        (candidate,) = store.waiting_page(["KTP2"], FIFO, None, 10)
        (decision,) = decide(store, [candidate])
        store.record(decision, NOW)  # promises 4 of PO-1
        store.lock_skus(["KTP"])
        store.current_stock(["KTP"])  # loads KTP: PO-1 must keep its promise
        assert store.supplies(["KTP2"]) == [supply("PO-1", "B", "KTP2", 5, promised=4)]

    with uow() as store:
        assert store.supply("PO-1") == supply("PO-1", "B", "KTP2", 5, promised=4)


def test_what_a_batch_reads_ahead_answers_without_a_statement_until_it_changes(
    uow: PostgresUnitOfWork, engine: sa.Engine
) -> None:
    s1, s2 = shipment("S-1", ("KTP", 1)), shipment("S-2", ("KTP", 1))
    with uow() as store:
        set_up_catalog(store)
        store.record(waiting(s1, NOW), NOW)
        store.record(waiting(s2, NOW + timedelta(minutes=1)), NOW)
        store.save_supply(supply("PO-1", "A", "KTP", 3))

    ahead = ReadAhead(
        first_pages=frozenset({"KTP"}),
        page_size=32,
        shipment_ids=frozenset({"S-1", "S-NEW"}),
        supply_ids=frozenset({"PO-1", "PO-NEW"}),
    )
    with uow() as store:
        store.lock_skus(["KTP"])
        store.read_ahead(ahead)
        with counting_statements(engine) as statements:
            page = store.waiting_page(["KTP"], FIFO, None, 32)
            assert [c.shipment.shipment_id for c in page] == ["S-1", "S-2"]
            assert store.shipment("S-NEW") is None
            assert store.supply("PO-NEW") is None
        assert statements == []
        store.set_free_stock("A", "KTP", 1)
        (decision,) = decide(store, page[:1])
        store.record(decision, NOW)  # S-1 leaves the room: the page read ahead is stale
        page = store.waiting_page(["KTP"], FIFO, None, 32)
        assert [c.shipment.shipment_id for c in page] == ["S-2"]
        store.record(waiting(shipment("S-NEW", ("KTP", 9)), NOW), NOW)
        store.flush()
        found = store.shipment("S-NEW")
        assert found is not None and found.shipment.shipment_id == "S-NEW"
        store.save_supply(supply("PO-NEW", "A", "KTP", 1))
        assert store.supply("PO-NEW") == supply("PO-NEW", "A", "KTP", 1)
