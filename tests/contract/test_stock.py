"""Stock positions: reading, adding, adding later, setting with the level's as_of, and
the reads over many positions (``current_stock``, ``stock_totals``, ``skus_at``).

Each runs with the SKUs unlocked and locked: a locked SKU's stock may be answered from
what the transaction holds, and the answers must not differ.
"""

from __future__ import annotations

from datetime import timedelta

from backorder_worker.service_layer.ports import StockPosition, Store, UnitOfWork
from tests.integration.postgres.world import NOW, supply


def held(store: Store, locked: bool, *skus: str) -> Store:
    if locked:
        store.lock_skus(skus)
    return store


def test_a_position_never_seen_holds_nothing(uow: UnitOfWork, locked: bool) -> None:
    with uow() as store:
        held(store, locked, "KTP")
        assert store.stock_position("A", "KTP") == StockPosition("A", "KTP", 0, None)
        assert store.current_stock(["KTP"]) == {}


def test_adding_stock_returns_what_the_position_held_before(uow: UnitOfWork, locked: bool) -> None:
    with uow() as store:
        held(store, locked, "KTP")
        assert store.add_free_stock("A", "KTP", 5) == 0
        assert store.add_free_stock("A", "KTP", 2) == 5
    with uow() as store:
        held(store, locked, "KTP")
        assert store.add_free_stock("A", "KTP", 3) == 7
        assert store.stock_position("A", "KTP").free == 10
    with uow() as store:
        assert store.stock_position("A", "KTP").free == 10


def test_stock_added_later_is_there_for_every_read_and_after_commit(
    uow: UnitOfWork, locked: bool
) -> None:
    with uow() as store:
        held(store, locked, "KTP")
        store.add_free_stock_later("A", "KTP", 3)
        store.add_free_stock_later("A", "KTP", 2)
        store.add_free_stock_later("B", "KTP", 1)
        assert store.stock_totals(["KTP"]) == {"KTP": 6}
        assert store.current_stock(["KTP"]) == {("A", "KTP"): 5, ("B", "KTP"): 1}
        assert store.stock_position("A", "KTP").free == 5
        assert store.skus_at("B") == {"KTP"}
    with uow() as store:
        held(store, locked, "KTP")
        store.add_free_stock_later("A", "KTP", 1)
        assert store.add_free_stock("A", "KTP", 1) == 6
    with uow() as store:
        assert store.current_stock(["KTP"]) == {("A", "KTP"): 7, ("B", "KTP"): 1}


def test_setting_stock_keeps_the_levels_as_of_until_another_level_says_otherwise(
    uow: UnitOfWork, locked: bool
) -> None:
    with uow() as store:
        held(store, locked, "KTP")
        store.set_free_stock("A", "KTP", 9, level_as_of=NOW)
        assert store.stock_position("A", "KTP") == StockPosition("A", "KTP", 9, NOW)
    with uow() as store:
        held(store, locked, "KTP")
        store.set_free_stock("A", "KTP", 4)
        store.add_free_stock("A", "KTP", 1)
        assert store.stock_position("A", "KTP") == StockPosition("A", "KTP", 5, NOW)
    later = NOW + timedelta(hours=1)
    with uow() as store:
        held(store, locked, "KTP")
        store.set_free_stock("A", "KTP", 0, level_as_of=later)
    with uow() as store:
        assert store.stock_position("A", "KTP") == StockPosition("A", "KTP", 0, later)


def test_current_stock_is_every_position_of_the_asked_skus_empty_ones_too(
    uow: UnitOfWork, locked: bool
) -> None:
    with uow() as store:
        store.set_free_stock("A", "KTP", 3)
        store.set_free_stock("B", "KTP", 0)
        store.set_free_stock("A", "KTP2", 2)
        store.set_free_stock("A", "OTHER", 8)
    with uow() as store:
        held(store, locked, "KTP", "KTP2")
        assert store.current_stock(["KTP", "KTP2", "NONE"]) == {
            ("A", "KTP"): 3,
            ("B", "KTP"): 0,
            ("A", "KTP2"): 2,
        }


def test_totals_add_free_stock_everywhere_and_free_supply_usable_or_not(
    uow: UnitOfWork, locked: bool
) -> None:
    with uow() as store:
        store.set_free_stock("A", "KTP", 3)
        store.set_free_stock("B", "KTP", 1)
        store.save_supply(supply("PO-1", "B", "KTP", 10, promised=4))
        store.save_supply(supply("PO-2", "A", "KTP", 5, days=400))  # too far to use: counts
        store.save_supply(supply("PO-3", "A", "KTP2", 2, promised=2))  # nothing free
        store.set_free_stock("A", "OTHER", 8)
    with uow() as store:
        held(store, locked, "KTP", "KTP2", "NONE")
        assert store.stock_totals(["KTP", "KTP2", "NONE"]) == {"KTP": 15, "KTP2": 0, "NONE": 0}


def test_a_supply_cut_below_its_promises_has_no_free_units_to_count(
    uow: UnitOfWork, locked: bool
) -> None:
    with uow() as store:
        store.set_free_stock("A", "KTP", 3)
        store.save_supply(supply("PO-1", "B", "KTP", 1, promised=4))  # cut: 3 short
    with uow() as store:
        held(store, locked, "KTP")
        assert store.stock_totals(["KTP"]) == {"KTP": 3}
        assert store.skus_at("B") == set()
        assert store.supplies(["KTP"]) == []


def test_skus_at_a_location_are_those_with_free_stock_or_free_supply_there(
    uow: UnitOfWork, locked: bool
) -> None:
    with uow() as store:
        store.set_free_stock("A", "KTP", 3)
        store.set_free_stock("A", "EMPTY", 0)
        store.set_free_stock("B", "KTP2", 1)
        store.save_supply(supply("PO-1", "A", "KTP3", 2))
        store.save_supply(supply("PO-2", "A", "PROMISED", 2, promised=2))
    with uow() as store:
        held(store, locked, "KTP", "EMPTY", "KTP3", "PROMISED")
        assert store.skus_at("A") == {"KTP", "KTP3"}
        assert store.skus_at("C") == set()


def test_kept_additions_and_settings_apply_in_the_order_they_were_made(
    uow: UnitOfWork, locked: bool
) -> None:
    with uow() as store:
        store.set_free_stock("A", "KTP", 4)
    with uow() as store:
        held(store, locked, "KTP")
        store.add_free_stock_later("A", "KTP", 3)
        store.set_free_stock("A", "KTP", 10, level_as_of=NOW)
        store.add_free_stock_later("A", "KTP", 2)
        store.add_free_stock_later("B", "KTP", 1)
        assert store.skus_at("A") == {"KTP"}
        store.set_free_stock("B", "KTP", 0)
        assert store.skus_at("B") == set()
        assert store.stock_totals(["KTP"]) == {"KTP": 12}
    with uow() as store:
        assert store.stock_position("A", "KTP") == StockPosition("A", "KTP", 12, NOW)
        assert store.current_stock(["KTP"]) == {("A", "KTP"): 12, ("B", "KTP"): 0}
