"""The batch processor on the in-memory store: one transaction per batch, bad events
dead-lettered, the rest applied."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.bootstrap import batch_retry
from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.entrypoints.worker.batch import BatchProcessor
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer import handlers
from backorder_worker.service_layer.batch import ApplyBatch
from backorder_worker.service_layer.commands import StowStock
from backorder_worker.service_layer.ports import DeadLetter
from backorder_worker.wire.input_events import build_event
from tests.fakes import FakeUnitOfWork

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def record(offset: int, value: bytes) -> SourceRecord:
    return SourceRecord("stock-stowed", 0, offset, b"k", value, (), 0)


def stow(sku: str, quantity: int = 1, event_id: str | None = None) -> bytes:
    data = {"location_id": "A", "sku": sku, "quantity": quantity}
    return build_event("stock.stowed", data, event_id=event_id)[1]


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def processor(uow: FakeUnitOfWork) -> BatchProcessor:
    return BatchProcessor(ApplyBatch(uow, ReleasePolicy(), lambda: NOW, batch_retry()), Metrics())


def letters(uow: FakeUnitOfWork) -> list[DeadLetter]:
    return [item for kind, item in uow.state.outbox if kind == "dead-letter"]  # type: ignore[misc]


@pytest.fixture
def exploding_sku() -> Iterator[None]:
    """A handler bug that bites one SKU only (what a poison event looks like)."""
    original = handlers.HANDLERS[StowStock]

    def stow_or_explode(cmd: StowStock, ctx: Any) -> Any:
        if cmd.sku == "BOOM":
            raise ZeroDivisionError("a bug")
        return original(cmd, ctx)

    handlers.HANDLERS[StowStock] = stow_or_explode
    yield
    handlers.HANDLERS[StowStock] = original


def test_a_malformed_record_is_dead_lettered_and_the_rest_of_the_batch_applies(
    uow: FakeUnitOfWork, processor: BatchProcessor
) -> None:
    result = processor.process([record(0, b"{oops"), record(1, stow("KTP", 3))])

    assert (result.applied, result.invalid) == (1, 1)
    [letter] = letters(uow)
    assert (letter.error_type, letter.source_offset) == ("malformed-json", 0)
    assert uow.state.stock[("A", "KTP")].free == 3


@pytest.mark.usefixtures("exploding_sku")
def test_a_poison_event_is_dead_lettered_on_a_rerun_and_keeps_no_claim(
    uow: FakeUnitOfWork, processor: BatchProcessor
) -> None:
    batch = [
        record(0, stow("KTP")),
        record(1, stow("BOOM", event_id="poison")),
        record(2, stow("KTP")),
    ]

    result = processor.process(batch)

    assert (result.applied, result.invalid) == (2, 1)
    [letter] = letters(uow)
    assert letter.error_type == "processing-error" and "ZeroDivisionError" in letter.error_message
    assert uow.state.stock[("A", "KTP")].free == 2
    assert "poison" not in uow.state.inbox  # so that a replay after the fix applies it


def test_an_id_twice_in_one_batch_has_one_effect(
    uow: FakeUnitOfWork, processor: BatchProcessor
) -> None:
    value = stow("KTP", 4, event_id="same")
    result = processor.process([record(0, value), record(1, value)])

    assert (result.applied, result.duplicates) == (1, 1)
    assert uow.state.stock[("A", "KTP")].free == 4


def test_a_dry_run_reports_what_it_would_apply_and_changes_nothing(
    uow: FakeUnitOfWork, processor: BatchProcessor
) -> None:
    result = processor.process([record(0, stow("KTP", 4))], dry_run=True)

    assert result.applied == 1
    assert uow.state.stock == {} and uow.state.inbox == {}
