"""`backorder-worker what-if EVENT …`: which shipments an inventory event would release.

`what-if stock.stowed --sku S --location L --quantity N` and `what-if
future-inventory.updated --supply-id X --sku S --location L --quantity N --expected-date D`
run the worker's own round on the event and roll it back (what_if.py): nothing is written
or published. Text for people, ``--json`` for scripts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click
import sqlalchemy as sa

from backorder_worker.adapters.postgres.engine import make_engine
from backorder_worker.entrypoints import waiting_view as view
from backorder_worker.entrypoints.what_if import WhatIf, what_if
from backorder_worker.service_layer.errors import TransientError
from backorder_worker.settings import load_settings
from backorder_worker.wire import InvalidMessage


@click.group("what-if")
def what_if_command() -> None:
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


@what_if_command.command("stock.stowed")
@_common
def stock_stowed(
    ctx: click.Context, sku: str, location_id: str, quantity: int, as_json: bool
) -> None:
    """N units of SKU stowed at LOCATION (free stock, no supply)."""
    data = {"location_id": location_id, "sku": sku, "quantity": quantity}
    _run(ctx, "stock.stowed", data, as_json)


@what_if_command.command("future-inventory.updated")
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
    root = ctx.find_root()
    settings = load_settings(root.obj["config_path"])
    engine = make_engine(settings.database.url, pool_size=1, max_overflow=0)
    try:
        answer = what_if(engine, settings, event_type, data, datetime.now(UTC))
    except InvalidMessage as error:
        raise click.UsageError(error.message) from error
    except (sa.exc.OperationalError, TransientError) as error:
        failure = error.__cause__ if isinstance(error, TransientError) else error
        reason = getattr(failure, "orig", failure)
        raise click.ClickException(f"cannot read the database: {reason}") from error
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
