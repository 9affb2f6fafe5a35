"""`backorder-worker demand`: what the waiting room waits for, per SKU — the purchasing view.

Units and shipments waiting per SKU (per pickup location for BOPIS), the oldest entry and
how many are overdue, the largest demand first. It only reads Postgres
(``adapters.postgres.demand``); ``--json`` prints for scripts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from backorder_worker.adapters.postgres.demand import SkuDemand, waiting_demand
from backorder_worker.adapters.postgres.errors import DatabaseTrouble, database_failure
from backorder_worker.bootstrap import build_read_engine
from backorder_worker.entrypoints import views as view
from backorder_worker.entrypoints.commands import settings_of


@click.command("demand")
@click.option("--sku", help="Only this SKU.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON output for scripts.")
@click.pass_context
def command(ctx: click.Context, sku: str | None, limit: int, as_json: bool) -> None:
    """Units and shipments waiting per SKU (and pickup location for BOPIS), largest first."""
    engine = build_read_engine(settings_of(ctx))
    now = datetime.now(UTC)
    try:
        demands = waiting_demand(engine, sku=sku, limit=limit)
    except Exception as error:
        failure = database_failure(error)
        if failure is None or failure.trouble is not DatabaseTrouble.UNREACHABLE:
            raise
        raise click.ClickException(f"cannot read the database: {failure.reason}") from error
    finally:
        engine.dispose()
    if as_json:
        click.echo(view.to_json({"demand": [demand_json(d) for d in demands]}))
    else:
        click.echo(demand_table(demands, now))


def demand_json(demand: SkuDemand) -> dict[str, Any]:
    oldest = demand.oldest_entered_at
    return {
        "sku": demand.sku,
        "location_id": demand.location_id,
        "units": demand.units,
        "shipments": demand.shipments,
        "oldest_entered_at": None if oldest is None else oldest.isoformat(),
        "overdue": demand.overdue,
    }


def demand_table(demands: list[SkuDemand], now: datetime) -> str:
    if not demands:
        return "nothing is waiting"
    rows = [
        (
            d.sku,
            d.location_id or "any (STH)",
            str(d.units),
            str(d.shipments),
            view.when(d.oldest_entered_at),
            view.age(d.oldest_entered_at, now),
            str(d.overdue),
        )
        for d in demands
    ]
    headers = ("SKU", "LOCATION", "UNITS", "SHIPMENTS", "OLDEST", "AGE", "OVERDUE")
    return view.table(headers, rows)
