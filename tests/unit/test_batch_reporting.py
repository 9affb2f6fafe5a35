"""What a batch tells its users after it commits: the counters of every event, by label
set, and a log line for each rejected event or note, in the record's log context."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from backorder_worker.bootstrap import batch_retry
from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.entrypoints.worker.batch import BatchProcessor
from backorder_worker.observability.logs import current_context
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer.batch import ApplyBatch
from tests.fakes import FakeUnitOfWork
from tests.unit.test_batch_processor import NOW, record, stow


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, dict[str, object]]] = []

    def emit(self, line: logging.LogRecord) -> None:
        self.lines.append((line.getMessage(), dict(current_context())))


@pytest.fixture
def lines() -> Iterator[_Lines]:
    handler = _Lines()
    logger = logging.getLogger("backorder_worker.entrypoints.worker.batch")
    logger.addHandler(handler)
    old_level, logger.level = logger.level, logging.DEBUG
    yield handler
    logger.removeHandler(handler)
    logger.level = old_level


def test_every_event_is_counted_once_under_its_labels_and_only_bad_ones_are_logged(
    lines: _Lines,
) -> None:
    metrics = Metrics()
    processor = BatchProcessor(
        ApplyBatch(FakeUnitOfWork(), ReleasePolicy(), lambda: NOW, batch_retry()), metrics
    )
    processor.process([record(0, stow("KTP", 1, event_id="reused"))])
    lines.lines.clear()

    processor.process(
        [
            record(1, stow("KTP", 2, event_id="a")),
            record(2, stow("OTHER", 1, event_id="b")),
            record(3, stow("KTP", 2, event_id="a")),  # the same event again: a duplicate
            record(4, b"{oops"),
            record(5, stow("KTP", 5, event_id="reused")),  # an id seen with other content
            record(6, stow("KTP", 3, event_id="c")),
        ]
    )

    def events(type_: str, outcome: str) -> float | None:
        labels = {"topic": "stock-stowed", "type": type_, "outcome": outcome}
        return metrics.registry.get_sample_value("backorder_events_total", labels)

    assert events("stock.stowed", "applied") == 1 + 3
    assert events("stock.stowed", "duplicate") == 1
    assert events("stock.stowed", "conflict") == 1
    assert events("unknown", "invalid") == 1
    letters = "backorder_dead_letters_total"
    assert metrics.registry.get_sample_value(letters, {"error_type": "malformed-json"}) == 1
    assert metrics.registry.get_sample_value(letters, {"error_type": "conflict"}) == 1
    position = {"topic": "stock-stowed", "partition": 0}
    assert lines.lines == [
        ("invalid message", {"event_id": None, **position, "offset": 4}),
        ("event rejected", {"event_id": "reused", **position, "offset": 5}),
    ]
    assert current_context() == {}
