"""Catalog and stock round-trip through their tables with the values the core uses."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.postgres.catalog import listings_of
from backorder_worker.adapters.postgres.draws import apply_draws
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.domain.inventory import Draw
from backorder_worker.domain.model import FulfillmentType, Listing, Location, OutOfStockBehaviour
from backorder_worker.service_layer.ports import StockPosition
from tests.integration.postgres.world import NOW, supply


def test_locations_and_listings_are_upserted_and_read_back(uow: PostgresUnitOfWork) -> None:
    store_b = Location("B", active=False, fulfillment_types=frozenset({FulfillmentType.BOPIS}))
    with uow() as store:
        store.save_location(Location("A", rank=2))
        store.save_location(store_b)
        store.save_location(Location("A", rank=1))
        store.save_listing(Listing("KTP", OutOfStockBehaviour.BACKORDER))
        store.save_listing(Listing("KTP", OutOfStockBehaviour.NONE, False, location_id="B"))
        store.save_listing(Listing("KTP", OutOfStockBehaviour.PREORDER))
        store.save_listing(Listing("OTHER"))

    with uow() as store:
        assert store.locations() == {"A": Location("A", rank=1), "B": store_b}
        assert store.listings(["KTP", "NOPE"]) == {
            ("KTP", None): Listing("KTP", OutOfStockBehaviour.PREORDER),
            ("KTP", "B"): Listing("KTP", OutOfStockBehaviour.NONE, False, location_id="B"),
        }
        assert store.listings([]) == {}


def test_free_stock_keeps_the_as_of_of_the_last_level_until_a_new_one(
    uow: PostgresUnitOfWork,
) -> None:
    with uow() as store:
        assert store.stock_position("A", "KTP") == StockPosition("A", "KTP", 0)
        store.set_free_stock("A", "KTP", 7, level_as_of=NOW)
        store.set_free_stock("A", "KTP", 9)
        store.set_free_stock("B", "KTP", 0)
        store.set_free_stock("A", "KTP2", 3)

    with uow() as store:
        assert store.stock_position("A", "KTP") == StockPosition("A", "KTP", 9, NOW)
        assert store.current_stock(["KTP"]) == {("A", "KTP"): 9, ("B", "KTP"): 0}


def test_the_schema_refuses_negative_free_stock(uow: PostgresUnitOfWork) -> None:
    with pytest.raises(sa.exc.IntegrityError), uow() as store:
        store.set_free_stock("A", "KTP", -1)


def test_supplies_are_upserted_and_only_those_with_free_units_are_offered(
    uow: PostgresUnitOfWork,
) -> None:
    with uow() as store:
        store.save_supply(supply("PO-1", "A", "KTP", 10))
        store.save_supply(supply("PO-2", "B", "KTP", 5, promised=5))
        store.save_supply(supply("PO-3", "A", "KTP2", 1))

    with uow() as store:
        assert store.supply("PO-1") == supply("PO-1", "A", "KTP", 10)
        assert store.supply("PO-9") is None
        assert [s.supply_id for s in store.supplies(["KTP"])] == ["PO-1"]


def test_draws_lower_stock_raise_promised_and_only_current_ones_count_as_assigned(
    uow: PostgresUnitOfWork, engine: sa.Engine
) -> None:
    with uow() as store:
        store.set_free_stock("A", "KTP", 10)
        store.save_supply(supply("PO-1", "A", "KTP", 10))
    with engine.begin() as conn:
        two_times = [
            (Draw("A", "KTP", 2), "S-1", NOW - timedelta(hours=2)),
            (Draw("A", "KTP", 3), "S-2", NOW),
        ]
        apply_draws(conn, two_times)  # one call, each draw at its own time in the ledger
        apply_draws(conn, [(Draw("A", "KTP", 4, "PO-1", NOW.date()), "S-3", NOW)])

    with uow() as store:
        assert store.assigned_since("A", "KTP", NOW - timedelta(hours=1)) == 3
        assert store.assigned_since("A", "KTP", NOW - timedelta(hours=3)) == 5
        assert store.assigned_since("B", "KTP", NOW - timedelta(hours=3)) == 0
        assert store.stock_position("A", "KTP").free == 5
        assert store.supply("PO-1") == supply("PO-1", "A", "KTP", 10, promised=4)


def test_skus_at_a_location_are_those_with_free_stock_or_free_supply_there(
    uow: PostgresUnitOfWork,
) -> None:
    with uow() as store:
        store.set_free_stock("A", "KTP", 2)
        store.set_free_stock("A", "EMPTY", 0)
        store.set_free_stock("B", "ELSEWHERE", 5)
        store.save_supply(supply("PO-1", "A", "KTP2", 3))
        store.save_supply(supply("PO-2", "A", "ALL-PROMISED", 3, promised=3))

        assert store.skus_at("A") == {"KTP", "KTP2"}
        assert store.skus_at("Z") == set()


def test_the_listings_of_a_batchs_many_skus_are_those_asked_for_and_no_others(
    uow: PostgresUnitOfWork, engine: sa.Engine
) -> None:
    with uow() as store:
        for i in range(400):
            store.save_listing(Listing(f"K{i:03d}", OutOfStockBehaviour.BACKORDER))
            if i % 7 == 0:
                store.save_listing(Listing(f"K{i:03d}", OutOfStockBehaviour.NONE, location_id="B"))
    asked = [f"K{i:03d}" for i in range(0, 400, 2)] + ["K000", "NOPE"]

    with engine.connect() as conn:
        found = listings_of(conn, asked)

    assert found == {
        **{
            (f"K{i:03d}", None): Listing(f"K{i:03d}", OutOfStockBehaviour.BACKORDER)
            for i in range(0, 400, 2)
        },
        **{
            (f"K{i:03d}", "B"): Listing(f"K{i:03d}", OutOfStockBehaviour.NONE, location_id="B")
            for i in range(0, 400, 2)
            if i % 7 == 0
        },
    }
