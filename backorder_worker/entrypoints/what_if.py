"""What an inventory event would release, computed by the worker's own round and undone.

`what_if` runs one event — a `stock.stowed` or a `future-inventory.updated` built from the
operator's values — through `BatchProcessor` with `dry_run=True`: the same decoding,
locks, read-ahead, handlers and release round as the worker, in one transaction that is
rolled back at its end (batch.py). Nothing is committed, no outbox row survives, nothing
is published, no metric moves; the Postgres unit of work is used without the Redis cache
so that no cache entry is written either. The answer holds for the state of the database
at that moment: the next real event may change it.

While it runs, the transaction holds the SKU's lock like a worker's batch: a worker's batch
on that SKU waits for it (milliseconds). The outbox id sequence may advance (sequences are
not rolled back); ids are never reused anyway.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backorder_worker.adapters.event_codec import decision_encoder
from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.domain.outcomes import ShipmentReleased, ShipmentUnroutable
from backorder_worker.entrypoints.batch import BatchProcessor
from backorder_worker.entrypoints.publish import build_event, key_for, topic_for
from backorder_worker.entrypoints.translate import release_policy
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer.results import Applied
from backorder_worker.settings import Settings
from backorder_worker.wire import InvalidMessage

WHAT_IF_EVENT_TYPES = ("stock.stowed", "future-inventory.updated")


@dataclass(frozen=True)
class WhatIf:
    event_type: str
    data: Mapping[str, Any]
    released: list[ShipmentReleased] = field(default_factory=list)
    still_waiting: list[ShipmentUnroutable] = field(default_factory=list)
    refused: str | None = None  # the worker would dead-letter the event, and why
    note: str | None = None


def what_if(
    engine: sa.Engine,
    settings: Settings,
    event_type: str,
    data: Mapping[str, Any],
    now: datetime,
) -> WhatIf:
    """The decisions `event_type` with `data` would make now; writes nothing. Raises
    `InvalidMessage` when the data is not a valid event of that type."""
    if event_type not in WHAT_IF_EVENT_TYPES:
        raise InvalidMessage("unknown-type", f"what-if takes {' or '.join(WHAT_IF_EVENT_TYPES)}")
    _, value = build_event(event_type, data, event_id=f"what-if-{uuid.uuid4()}", time=now)
    record = SourceRecord(
        topic=topic_for(event_type, settings),
        partition=0,
        offset=0,
        key=key_for(event_type, data),
        value=value,
        headers=(),
        timestamp_ms=int(time.time() * 1000),
    )
    uow = PostgresUnitOfWork(engine, settings.topics, encode=decision_encoder(settings.topics))
    processor = BatchProcessor(uow, release_policy(settings), lambda: now, Metrics())
    result = processor.process([record], dry_run=True)
    ((_, _, outcome),) = result.outcomes
    if isinstance(outcome, InvalidMessage):
        raise outcome
    if not isinstance(outcome, Applied):  # Rejected: Duplicate cannot be, the id is new
        return WhatIf(event_type, data, refused=getattr(outcome, "message", repr(outcome)))
    return WhatIf(
        event_type,
        data,
        released=[d for d in outcome.decisions if isinstance(d, ShipmentReleased)],
        still_waiting=[d for d in outcome.decisions if isinstance(d, ShipmentUnroutable)],
        note=outcome.note,
    )
