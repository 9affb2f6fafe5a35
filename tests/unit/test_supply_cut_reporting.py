"""A supply cut below its promises is logged by the worker's batch (in the event's log
context) and counted once the batch has committed (issue 11, defect 8); the history rows
are the store's (tests/unit/service, tests/integration/postgres)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.bootstrap import batch_retry
from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.entrypoints.worker.batch import BatchProcessor
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer.batch import ApplyBatch
from backorder_worker.wire.input_events import build_event
from tests.fakes import FakeUnitOfWork

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def record(offset: int, event_type: str, data: dict[str, Any]) -> SourceRecord:
    value = build_event(event_type, data, event_id=f"e-{offset}")[1]
    return SourceRecord("any", 0, offset, b"k", value, (), 0)


def supply(offset: int, quantity: int) -> SourceRecord:
    data = {
        "supply_id": "PO-1",
        "location_id": "A",
        "sku": "KTP",
        "quantity": quantity,
        "expected_date": "2026-05-10",
    }
    return record(offset, "future-inventory.updated", data)


def test_a_supply_cut_below_its_promises_is_logged_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    apply = ApplyBatch(FakeUnitOfWork(), ReleasePolicy(), lambda: NOW, batch_retry())
    processor = BatchProcessor(apply, metrics)
    lines = [{"line_id": "S-1-1", "sku": "KTP", "quantity": 3}]
    processor.process(
        [
            record(
                0,
                "location.updated",
                {"location_id": "A", "active": True, "fulfillment_types": ["STH"]},
            ),
            record(1, "listing.updated", {"sku": "KTP", "out_of_stock_behaviour": "BACKORDER"}),
            supply(2, 5),
            record(
                3,
                "shipment.created",
                {
                    "shipment_id": "S-1",
                    "order_id": "O-1",
                    "fulfillment_type": "STH",
                    "lines": lines,
                },
            ),
        ]
    )

    with caplog.at_level(logging.WARNING):
        processor.process([supply(4, 2)])
        processor.process([supply(5, 0)])

    cuts = [r for r in caplog.records if r.getMessage() == "supply cut below what it promised"]
    assert [(r.supply_id, r.shortfall, r.shipments) for r in cuts] == [  # type: ignore[attr-defined]
        ("PO-1", 1, ["S-1-R1"]),
        ("PO-1", 3, ["S-1-R1"]),
    ]
    assert metrics.registry.get_sample_value("backorder_supply_cuts_total") == 2
    assert metrics.registry.get_sample_value("backorder_supply_shortfall_units_total") == 3
