"""`backorder-worker what-if EVENT …`: which shipments an inventory event would release.

`what-if stock.stowed --sku S --location L --quantity N` and `what-if
future-inventory.updated --supply-id X --sku S --location L --quantity N --expected-date D`
run the worker's own round on the event and roll it back: nothing is written or
published. Text for people, ``--json`` for scripts.

`what_if` runs the event — a `stock.stowed` or a `future-inventory.updated` built from the
operator's values — through `BatchProcessor` with `dry_run=True`: the same decoding,
locks, read-ahead, handlers and release round as the worker, in one transaction that is
rolled back at its end (``BatchProcessor``). Nothing is committed, no outbox row survives, nothing
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click

from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.adapters.postgres.engine import Engine
from backorder_worker.adapters.postgres.errors import DatabaseTrouble, database_failure
from backorder_worker.bootstrap import (
    batch_retry,
    build_read_engine,
    build_unit_of_work,
    release_policy,
)
from backorder_worker.domain.outcomes import ShipmentReleased, ShipmentUnroutable
from backorder_worker.entrypoints import views as view
from backorder_worker.entrypoints.commands import settings_of
from backorder_worker.entrypoints.worker.batch import BatchProcessor
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer.batch import ApplyBatch
from backorder_worker.service_layer.results import Applied
from backorder_worker.settings import Settings
from backorder_worker.wire import InvalidMessage
from backorder_worker.wire.input_events import build_event, key_for, topic_for

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
    engine: Engine,
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
    uow = build_unit_of_work(engine, settings)
    apply = ApplyBatch(uow, release_policy(settings), lambda: now, batch_retry())
    processor = BatchProcessor(apply, Metrics())
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


@click.group("what-if")
def command() -> None:
    """Which shipments an inventory event would release now, without writing anything."""


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in reversed(
        (
            click.option("--sku", required=True),
            click.option("--location", "location_id", required=True, help="location_id"),
            click.option("--quantity", type=int, required=True),
            click.option("--json", "as_json", is_flag=True, help="JSON output for scripts."),
            click.pass_context,
        )
    ):
        command = decorator(command)
    return command


@command.command("stock.stowed")
@_common
def stock_stowed(
    ctx: click.Context, sku: str, location_id: str, quantity: int, as_json: bool
) -> None:
    """N units of SKU stowed at LOCATION (free stock, no supply)."""
    data = {"location_id": location_id, "sku": sku, "quantity": quantity}
    _run(ctx, "stock.stowed", data, as_json)


@command.command("future-inventory.updated")
@click.option("--supply-id", required=True)
@click.option("--expected-date", required=True, help="YYYY-MM-DD")
@_common
def future_inventory(
    ctx: click.Context,
    supply_id: str,
    expected_date: str,
    sku: str,
    location_id: str,
    quantity: int,
    as_json: bool,
) -> None:
    """Supply SUPPLY_ID of N units of SKU at LOCATION expected on a date (R4)."""
    data = {
        "supply_id": supply_id,
        "location_id": location_id,
        "sku": sku,
        "quantity": quantity,
        "expected_date": expected_date,
    }
    _run(ctx, "future-inventory.updated", data, as_json)


def _run(ctx: click.Context, event_type: str, data: dict[str, Any], as_json: bool) -> None:
    settings = settings_of(ctx)
    engine = build_read_engine(settings)
    try:
        answer = what_if(engine, settings, event_type, data, datetime.now(UTC))
    except InvalidMessage as error:
        raise click.UsageError(error.message) from error
    except Exception as error:
        failure = database_failure(error)  # a TransientError retried in vain: its cause
        if failure is None or failure.trouble is not DatabaseTrouble.UNREACHABLE:
            raise
        raise click.ClickException(f"cannot read the database: {failure.reason}") from error
    finally:
        engine.dispose()
    click.echo(view.to_json(what_if_json(answer)) if as_json else what_if_text(answer))


def what_if_json(answer: WhatIf) -> dict[str, Any]:
    return {
        "event": {"type": answer.event_type, "data": dict(answer.data)},
        "refused": answer.refused,
        "note": answer.note,
        "released": [
            {
                "shipment_id": d.parent.shipment_id,
                "order_id": d.parent.order_id,
                "release": d.release.value,
                "shipments": [
                    {
                        "shipment_id": s.shipment_id,
                        "status": s.status.value,
                        "location_id": s.location_id,
                        "expected_date": s.expected_date,
                        "lines": [
                            {"line_id": line.line_id, "sku": line.sku, "quantity": line.quantity}
                            for line in s.lines
                        ],
                    }
                    for s in d.shipments
                ],
            }
            for d in answer.released
        ],
        "still_waiting": [
            {
                "shipment_id": d.shipment.shipment_id,
                "order_id": d.shipment.order_id,
                "state": d.state.value,
                "reasons": [r.detail for r in d.reasons],
            }
            for d in answer.still_waiting
        ],
        "written": False,
    }


def what_if_text(answer: WhatIf) -> str:
    footer = "(a dry run: nothing was written or published)"
    if answer.refused is not None:
        return f"the worker would dead-letter this event: {answer.refused}\n{footer}"
    lines = []
    if answer.released:
        units = sum(line.quantity for d in answer.released for s in d.shipments for line in s.lines)
        lines.append(f"would release {len(answer.released)} shipments ({units} units):")
        rows = [
            (
                d.parent.shipment_id,
                d.parent.order_id,
                d.release.value,
                ", ".join(sorted({s.location_id for s in d.shipments})),
                ", ".join(f"{line.quantity} {line.sku}" for s in d.shipments for line in s.lines),
            )
            for d in answer.released
        ]
        lines.append(view.table(("SHIPMENT", "ORDER", "RELEASE", "FROM", "UNITS"), rows))
    else:
        lines.append("would release no shipment" + (f" ({answer.note})" if answer.note else ""))
    if answer.still_waiting:
        waiting = ", ".join(d.shipment.shipment_id for d in answer.still_waiting)
        lines.append(f"reached but still waiting: {waiting}")
    lines.append(footer)
    return "\n".join(lines)
