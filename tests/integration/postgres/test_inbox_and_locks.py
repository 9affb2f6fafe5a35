"""The inbox makes an event's effect happen once; SKU locks serialise allocators."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.domain.model import Location
from backorder_worker.service_layer.ports import Claim


def test_an_event_id_is_new_once_then_a_duplicate_or_with_other_content_a_conflict(
    uow: PostgresUnitOfWork,
) -> None:
    with uow() as store:
        assert store.claim_event("evt-1", "stock.stowed", "digest-a") is Claim.NEW
    with uow() as store:
        assert store.claim_event("evt-1", "stock.stowed", "digest-a") is Claim.DUPLICATE
        assert store.claim_event("evt-1", "stock.stowed", "digest-b") is Claim.CONFLICT
        assert store.claim_event("evt-2", "stock.stowed", "digest-a") is Claim.NEW


def test_a_rolled_back_transaction_leaves_its_event_unclaimed(uow: PostgresUnitOfWork) -> None:
    with pytest.raises(RuntimeError), uow() as store:
        store.claim_event("evt-1", "stock.stowed", "digest-a")
        store.save_location(Location("A"))
        raise RuntimeError("the handler failed")

    with uow() as store:
        assert store.claim_event("evt-1", "stock.stowed", "digest-a") is Claim.NEW
        assert store.locations() == {}


def test_a_savepoint_rolled_back_undoes_only_its_own_work(uow: PostgresUnitOfWork) -> None:
    with uow() as store:
        store.save_location(Location("A"))
        with pytest.raises(sa.exc.IntegrityError), store.savepoint():
            store.save_location(Location("B"))
            store.set_free_stock("A", "KTP", -1)  # refused by the schema
        store.save_location(Location("C"))

    with uow() as store:
        assert set(store.locations()) == {"A", "C"}


def test_a_locked_sku_blocks_another_transaction_until_commit(uow: PostgresUnitOfWork) -> None:
    locked_by_second = threading.Event()

    def second() -> None:
        with uow() as store:
            store.lock_skus(["KTP"])
            locked_by_second.set()

    with uow() as store:
        store.lock_skus(["KTP2", "KTP"])
        store.lock_skus(["KTP"])  # held already: a no-op
        thread = threading.Thread(target=second)
        thread.start()
        assert not locked_by_second.wait(timeout=0.5)
    assert locked_by_second.wait(timeout=10)
    thread.join(timeout=10)


def test_locks_on_other_skus_do_not_block(uow: PostgresUnitOfWork) -> None:
    with uow() as store:
        store.lock_skus(["KTP"])
        with uow() as other:
            started = time.monotonic()
            other.lock_skus(["KTP2", "KTP3"])
            assert time.monotonic() - started < 1


def test_a_lock_taken_in_a_rolled_back_savepoint_is_taken_again_when_asked(
    uow: PostgresUnitOfWork,
) -> None:
    """Postgres releases it with the savepoint; the store must not think it still holds it."""
    locked_by_second = threading.Event()

    def second() -> None:
        with uow() as store:
            store.lock_skus(["KTP"])
            locked_by_second.set()

    with uow() as store:
        with pytest.raises(RuntimeError), store.savepoint():
            store.lock_skus(["KTP"])
            raise RuntimeError("one bad event")
        store.lock_skus(["KTP"])
        thread = threading.Thread(target=second)
        thread.start()
        assert not locked_by_second.wait(timeout=0.5)
    assert locked_by_second.wait(timeout=10)
    thread.join(timeout=10)
