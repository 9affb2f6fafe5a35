"""`backorder-worker migrate`: creates or upgrades the database schema (SPEC §3)."""

from __future__ import annotations

import click

from backorder_worker.adapters.postgres.migrate import current_revision
from backorder_worker.adapters.postgres.migrate import migrate as run_migrations
from backorder_worker.entrypoints.commands import settings_of


@click.command("migrate")
@click.pass_context
def command(ctx: click.Context) -> None:
    """Creates or upgrades the database schema (idempotent)."""
    url = settings_of(ctx).database.url
    run_migrations(url)
    click.echo(f"schema at revision {current_revision(url)}")
