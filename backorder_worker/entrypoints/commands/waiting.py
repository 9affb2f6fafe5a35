"""`backorder-worker waiting [SHIPMENT_ID]`: who waits, and why (SPEC §3).

Without an id it lists the waiting room, oldest first, filtered by SKU, location, age or
overdue; with one it shows that shipment in whatever state it is — every reason stored at
its last evaluation, its whole history, and for a waiting one a live check against the
stock there is now — and exits 1 if the worker does not know it.
It only reads Postgres (``adapters.postgres.shipment_views``); ``--json`` prints for scripts.
"""

from __future__ import annotations

import re
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import click

from backorder_worker.adapters.postgres.engine import Engine
from backorder_worker.adapters.postgres.shipment_views import (
    WaitingFilter,
    shipment_view,
    waiting_shipments,
)
from backorder_worker.bootstrap import build_read_engine, build_unit_of_work, release_policy
from backorder_worker.entrypoints import views as view
from backorder_worker.entrypoints.commands import settings_of
from backorder_worker.service_layer.explain import explain
from backorder_worker.settings import Settings

_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_DURATION = re.compile(r"(\d+)([wdhms])")


def parse_duration(text: str) -> timedelta:
    """``3d``, ``12h``, ``1d12h``, ``90m``, ``2w``, ``30s``."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"{text!r} is not a duration such as 3d, 12h or 1d12h")
    return sum((timedelta(**{_UNITS[unit]: int(n)}) for n, unit in parts), timedelta())


def _duration(_ctx: click.Context, _param: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


@click.command("waiting")
@click.argument("shipment_id", required=False)
@click.option("--sku", help="Only shipments that need this SKU.")
@click.option("--location", help="Only shipments picked up there, or with a reason naming it.")
@click.option("--older-than", callback=_duration, help="Entered longer ago, e.g. 3d, 12h.")
@click.option("--overdue", is_flag=True, help="Only shipments past their expected release.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON output for scripts.")
@click.pass_context
def command(
    ctx: click.Context,
    shipment_id: str | None,
    sku: str | None,
    location: str | None,
    older_than: timedelta | None,
    overdue: bool,
    limit: int,
    as_json: bool,
) -> None:
    """Lists waiting shipments, or shows SHIPMENT_ID with its reasons and history."""
    filtered = sku is not None or location is not None or older_than is not None or overdue
    if shipment_id is not None and filtered:
        raise click.UsageError("filters apply to the list, not to one shipment")
    settings = settings_of(ctx)
    engine = build_read_engine(settings)
    now = datetime.now(UTC)
    try:  # Postgres down or not migrated: the CLI's error path says so (cli_errors)
        if shipment_id is not None:
            _show(engine, settings, shipment_id, now, as_json)
        else:
            where = WaitingFilter(sku, location, older_than, overdue, limit)
            _list(engine, where, now, as_json)
    finally:
        engine.dispose()


def _list(engine: Engine, where: WaitingFilter, now: datetime, as_json: bool) -> None:
    views, total = waiting_shipments(engine, where, now)
    if not as_json:
        click.echo(view.waiting_table(views, total, now))
        return
    filters = {k: v for k, v in asdict(where).items() if k != "limit"}
    filters["older_than"] = None if where.older_than is None else where.older_than.total_seconds()
    listed = [view.view_json(v) for v in views]
    click.echo(view.to_json({"total": total, "filters": filters, "shipments": listed}))


def _show(
    engine: Engine, settings: Settings, shipment_id: str, now: datetime, as_json: bool
) -> None:
    found = shipment_view(engine, shipment_id, now)
    if found is None:
        click.echo(f"shipment {shipment_id} is unknown to the worker", err=True)
        sys.exit(1)
    with build_unit_of_work(engine, settings)() as store:  # reads only
        live = explain(store, release_policy(settings), now, shipment_id)
    if as_json:
        click.echo(view.to_json({**view.view_json(found), "live_check": view.live_json(live)}))
        return
    text = view.shipment_text(found, now)
    click.echo(f"{text}\n\n{view.live_text(live)}" if live else text)
