"""The lock rules of ``service_layer/locking.py`` on real Postgres: only a transaction's
first lock call waits as long as it takes; a later one only tries, and names at once what
another transaction holds; a location's change waits for raises of stock there, and
raises there share the lock."""

from __future__ import annotations

import threading

import pytest

from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.service_layer.locking import LockContended, LockNeeds

WAIT_S = 0.5  # long enough to see a wait that should not happen; none is expected to pass


def _blocks(uow: PostgresUnitOfWork, needs: LockNeeds, while_held: LockNeeds) -> bool:
    """Whether a first lock call of ``needs`` waits while another transaction holds
    ``while_held``; the holder commits after the look, so the waiter always finishes."""
    took = threading.Event()

    def second() -> None:
        with uow() as store:
            store.lock(needs)
            took.set()

    with uow() as store:
        store.lock(while_held)
        thread = threading.Thread(target=second)
        thread.start()
        waited = not took.wait(WAIT_S)
    assert took.wait(10)
    thread.join(10)
    return waited


def test_a_later_lock_call_names_the_locks_still_held_elsewhere(
    uow: PostgresUnitOfWork,
) -> None:
    with uow() as holder:
        holder.lock(LockNeeds(skus=frozenset({"KTP2"}), changed_locations=frozenset({"C"})))
        with uow() as store:
            store.lock_skus(["KTP"])  # the first call: nothing in its way
            with pytest.raises(LockContended) as refused:
                store.lock(
                    LockNeeds(skus=frozenset({"KTP2", "KTP3"}), stocked_locations=frozenset({"C"}))
                )
    assert refused.value.needs == LockNeeds(
        skus=frozenset({"KTP2"}), stocked_locations=frozenset({"C"})
    )


def test_a_later_lock_call_takes_free_locks_at_once(uow: PostgresUnitOfWork) -> None:
    with uow() as store:
        store.lock_skus(["KTP"])
        store.lock_skus(["KTP2", "KTP3"])
        store.lock_skus(["KTP2"])  # held: a no-op
        with uow() as other:
            other.lock_skus(["KTP4"])
            with pytest.raises(LockContended):
                other.lock_skus(["KTP3"])


def test_the_change_of_a_location_waits_for_a_raise_of_stock_there(
    uow: PostgresUnitOfWork,
) -> None:
    raise_at_c = LockNeeds(skus=frozenset({"KTP"}), stocked_locations=frozenset({"C"}))
    change_of_c = LockNeeds(changed_locations=frozenset({"C"}))
    assert _blocks(uow, change_of_c, while_held=raise_at_c)
    assert _blocks(uow, LockNeeds(stocked_locations=frozenset({"C"})), while_held=change_of_c)


def test_raises_of_stock_at_one_location_do_not_wait_for_each_other(
    uow: PostgresUnitOfWork,
) -> None:
    raise_ktp = LockNeeds(skus=frozenset({"KTP"}), stocked_locations=frozenset({"C"}))
    raise_ktp2 = LockNeeds(skus=frozenset({"KTP2"}), stocked_locations=frozenset({"C"}))
    assert not _blocks(uow, raise_ktp2, while_held=raise_ktp)
    assert not _blocks(uow, LockNeeds(changed_locations=frozenset({"D"})), while_held=raise_ktp)


def test_after_an_empty_first_lock_call_a_later_one_only_tries(uow: PostgresUnitOfWork) -> None:
    """A batch whose events lock nothing up front (a cancel) has made its first call: the
    SKUs a handler asks for later are tried, not waited for (it may have written rows)."""
    outcome: list[BaseException | None] = []

    def later() -> None:
        with uow() as store:
            store.lock(LockNeeds())  # the batch's first call, with nothing to lock
            try:
                store.lock_skus(["KTP2"])
                outcome.append(None)
            except LockContended as refused:
                outcome.append(refused)

    with uow() as holder:
        holder.lock_skus(["KTP2"])
        thread = threading.Thread(target=later)
        thread.start()
        thread.join(WAIT_S)
        refused_while_held = list(outcome)
    thread.join(10)
    assert len(refused_while_held) == 1, "the later call waited for the holder"
    assert isinstance(refused_while_held[0], LockContended)
