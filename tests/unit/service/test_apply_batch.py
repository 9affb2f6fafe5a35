"""The batch use case on the in-memory store: one transaction per batch, run again whole
through the retry it is given, the before-commit hook heard only when a commit follows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest

from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.batch import ApplyBatch, BatchItem, BatchOutcome
from backorder_worker.service_layer.errors import TransientError, run_once
from backorder_worker.service_layer.ports import DeadLetter
from backorder_worker.service_layer.results import Rejected
from tests.fakes import FakeStore, FakeUnitOfWork
from tests.support.driver import T0, envelope

_T = TypeVar("_T")


def letter(error_type: str, message: str) -> DeadLetter:
    return DeadLetter(b"k", b"v", error_type, message, "stock-stowed", 0, 0, ())


def stow(event_id: str, quantity: int = 2) -> BatchItem:
    return BatchItem(envelope(c.StowStock("A", "KTP", quantity), event_id, T0), letter)


class FailingFirst(FakeUnitOfWork):
    """Its first ``failures`` transactions end in a ``TransientError``, rolled back."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    @contextmanager
    def __call__(self) -> Iterator[FakeStore]:
        with super().__call__() as store:
            yield store
            if self.failures:
                self.failures -= 1
                raise TransientError("the connection dropped")


def up_to(attempts: int) -> Callable[[Callable[[], _T]], _T]:
    def retry(attempt: Callable[[], _T]) -> _T:
        for _ in range(attempts - 1):
            try:
                return attempt()
            except TransientError:
                continue
        return attempt()

    return retry


def test_a_transient_failure_runs_the_whole_batch_again_through_the_retry_it_is_given() -> None:
    uow = FailingFirst(failures=2)
    apply = ApplyBatch(uow, ReleasePolicy(), lambda: T0, up_to(3))

    done = apply([stow("e-1"), stow("e-2")])

    assert (done.applied, uow.commits, uow.state.stock[("A", "KTP")].free) == (2, 1, 4)


def test_without_retries_a_transient_failure_reaches_the_caller_and_nothing_is_kept() -> None:
    uow = FailingFirst(failures=1)
    apply = ApplyBatch(uow, ReleasePolicy(), lambda: T0, run_once)

    with pytest.raises(TransientError):
        apply([stow("e-1")])

    assert uow.state.inbox == {} and uow.commits == 0


def test_an_item_the_edge_could_not_decode_is_dead_lettered_with_its_reason() -> None:
    uow = FakeUnitOfWork()
    invalid = BatchItem(None, letter, Rejected("malformed-json", "not JSON"))

    done = ApplyBatch(uow, ReleasePolicy(), lambda: T0)([invalid, stow("e-1")])

    assert (done.invalid, done.applied) == (1, 1)
    [dead] = [item for kind, item in uow.state.outbox if kind == "dead-letter"]
    assert isinstance(dead, DeadLetter) and dead.error_type == "malformed-json"


def test_the_before_commit_hook_hears_what_is_written_and_a_dry_run_never_calls_it() -> None:
    heard: list[BatchOutcome] = []
    apply = ApplyBatch(FakeUnitOfWork(), ReleasePolicy(), lambda: T0)

    apply([stow("e-1")], before_commit=heard.append)
    dry = apply([stow("e-2")], dry_run=True, before_commit=heard.append)

    assert [outcome.applied for outcome in heard] == [1]
    assert dry.applied == 1
