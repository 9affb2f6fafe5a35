"""The inbox (``claim_event``, ``claim_events``, ``release_claim``) and the locks."""

from __future__ import annotations

import pytest

from backorder_worker.service_layer.locking import LockNeeds
from backorder_worker.service_layer.ports import Claim, UnitOfWork

STOWED = "stock.stowed"


class Boom(Exception):
    pass


def test_an_event_is_new_once_then_a_duplicate_or_a_conflict_by_its_content(
    uow: UnitOfWork,
) -> None:
    with uow() as store:
        assert store.claim_event("evt-1", STOWED, "digest-a") is Claim.NEW
        assert store.claim_event("evt-1", STOWED, "digest-a") is Claim.DUPLICATE
    with uow() as store:
        assert store.claim_event("evt-1", STOWED, "digest-a") is Claim.DUPLICATE
        assert store.claim_event("evt-1", STOWED, "digest-b") is Claim.CONFLICT
        assert store.claim_event("evt-2", STOWED, "digest-a") is Claim.NEW


def test_a_claim_rolls_back_with_its_transaction(uow: UnitOfWork) -> None:
    with pytest.raises(Boom), uow() as store:
        assert store.claim_event("evt-1", STOWED, "digest-a") is Claim.NEW
        raise Boom
    with uow() as store:
        assert store.claim_event("evt-1", STOWED, "digest-a") is Claim.NEW


def test_a_released_claim_is_new_again_to_a_replay(uow: UnitOfWork) -> None:
    with uow() as store:
        store.claim_event("evt-1", STOWED, "digest-a")
        store.release_claim("evt-1")
    with uow() as store:
        assert store.claim_event("evt-1", STOWED, "digest-b") is Claim.NEW


def test_claimed_in_bulk_each_new_id_answers_new_once_and_a_known_one_as_before(
    uow: UnitOfWork,
) -> None:
    with uow() as store:
        store.claim_event("evt-1", STOWED, "digest-a")
    with uow() as store:
        store.claim_events(
            [("evt-1", STOWED, "digest-other"), ("evt-2", STOWED, "d2"), ("evt-3", STOWED, "d3")]
        )
        assert store.claim_event("evt-1", STOWED, "digest-other") is Claim.CONFLICT
        assert store.claim_event("evt-2", STOWED, "d2") is Claim.NEW
        assert store.claim_event("evt-2", STOWED, "d2") is Claim.DUPLICATE
        assert store.claim_event("evt-3", STOWED, "d3") is Claim.NEW
    with uow() as store:
        assert store.claim_event("evt-3", STOWED, "d3") is Claim.DUPLICATE


def test_a_bulk_claim_released_before_it_is_asked_for_is_new_again(uow: UnitOfWork) -> None:
    with uow() as store:
        store.claim_events([("evt-1", STOWED, "d1")])
        store.release_claim("evt-1")
        assert store.claim_event("evt-1", STOWED, "d1") is Claim.NEW


def test_re_taking_held_locks_is_a_no_op(uow: UnitOfWork) -> None:
    needs = LockNeeds(skus=frozenset({"KTP", "KTP2"}), stocked_locations=frozenset({"A"}))
    with uow() as store:
        store.lock(needs)
        store.lock_skus(["KTP"])
        store.lock(needs)
        store.lock_skus(["KTP2", "KTP"])
        store.add_free_stock("A", "KTP", 2)
        assert store.stock_position("A", "KTP").free == 2


def test_with_nobody_else_raising_every_sku_is_raised_by_nobody(uow: UnitOfWork) -> None:
    with uow() as store:
        assert store.skus_raised_by_nobody(["KTP", "KTP2"]) == {"KTP", "KTP2"}
        store.lock(LockNeeds(skus=frozenset({"KTP"}), raised_skus=frozenset({"KTP"})))
        assert store.skus_raised_by_nobody(["KTP", "KTP2"]) == {"KTP", "KTP2"}


def test_an_id_claimed_twice_in_one_bulk_claim_is_new_once(uow: UnitOfWork) -> None:
    with uow() as store:
        store.claim_events([("evt-1", STOWED, "d1"), ("evt-1", STOWED, "d2")])
        assert store.claim_event("evt-1", STOWED, "d1") is Claim.NEW
        assert store.claim_event("evt-1", STOWED, "d1") is Claim.DUPLICATE
        assert store.claim_event("evt-1", STOWED, "d2") is Claim.CONFLICT
