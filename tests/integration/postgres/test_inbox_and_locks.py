"""The inbox makes an event's effect happen once; SKU locks serialise allocators."""

from __future__ import annotations

import threading
import time

import pytest

from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.domain.model import Location
from backorder_worker.service_layer.ports import Claim
from tests.integration.postgres.world import NOW, set_up_catalog, shipment, waiting


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


def test_claims_made_together_answer_once_each_and_a_released_claim_is_forgotten(
    uow: PostgresUnitOfWork,
) -> None:
    with uow() as store:
        store.claim_event("old", "stock.stowed", "digest-a")
    with uow() as store:
        store.claim_events([("old", "t", "digest-a"), ("e1", "t", "d1"), ("e2", "t", "d2")])
        assert store.claim_event("e1", "t", "d1") is Claim.NEW
        assert store.claim_event("e1", "t", "d1") is Claim.DUPLICATE  # twice in one batch
        assert store.claim_event("old", "t", "digest-a") is Claim.DUPLICATE
        assert store.claim_event("e2", "t", "d2") is Claim.NEW
        store.release_claim("e2")  # rejected: it had no effect
    with uow() as store:
        assert store.claim_event("e2", "t", "d2") is Claim.NEW
        assert store.claim_event("e1", "t", "d1") is Claim.DUPLICATE


def test_adding_free_stock_returns_what_the_position_held_before(uow: PostgresUnitOfWork) -> None:
    with uow() as store:
        assert store.add_free_stock("A", "KTP", 5) == 0
        assert store.add_free_stock("A", "KTP", 2) == 5
        assert store.stock_position("A", "KTP").free == 7


def test_the_remembered_demand_of_a_locked_sku_follows_a_shipment_that_starts_waiting(
    uow: PostgresUnitOfWork,
) -> None:
    with uow() as store:
        set_up_catalog(store)
        store.lock_skus(["KTP"])
        assert store.waiting_skus(["KTP", "KTP2"]) == set()
        store.record(waiting(shipment("S-1", ("KTP", 1)), NOW), NOW)
        assert store.waiting_skus(["KTP"]) == {"KTP"}
    with uow() as store:
        assert store.waiting_skus(["KTP", "KTP2"]) == {"KTP"}


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
