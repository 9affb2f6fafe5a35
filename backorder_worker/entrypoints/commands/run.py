"""`backorder-worker run`: checks the setup, then runs the worker until SIGTERM or SIGINT.

The checks fail at once with a message (``preflight``): the HTTP port taken, the schema
behind this code, no Kafka broker answering. The worker itself, with its sweeper, health
endpoints and background jobs, is ``runner.run_worker``.
"""

from __future__ import annotations

import click

from backorder_worker.adapters.postgres.migrate import migrate as migrate_schema
from backorder_worker.bootstrap import input_topics, output_topics
from backorder_worker.entrypoints.commands import settings_of
from backorder_worker.entrypoints.preflight import require_free_port, require_kafka, require_schema
from backorder_worker.entrypoints.worker.runner import run_worker
from backorder_worker.settings import ObservabilitySettings


@click.command("run")
@click.option(
    "--http-port",
    type=click.IntRange(0, 65535),
    default=ObservabilitySettings.model_fields["http_port"].default,
    show_default=True,
    help="/metrics, /healthz, /readyz (0: any free port); default: [observability] http_port.",
)
@click.option(
    "--exit-when-idle",
    type=float,
    default=None,
    help="Stop after this many idle seconds (burst mode).",
)
@click.option(
    "--migrate/--no-migrate",
    "run_migrations",
    default=False,
    help="Migrate the schema before starting.",
)
@click.pass_context
def command(
    ctx: click.Context, http_port: int, exit_when_idle: float | None, run_migrations: bool
) -> None:
    """Consumes the input topics in the consumer group until SIGTERM or SIGINT."""
    settings = settings_of(ctx)
    if ctx.get_parameter_source("http_port") is click.core.ParameterSource.DEFAULT:
        http_port = settings.observability.http_port
    require_free_port(http_port)
    if run_migrations:
        migrate_schema(settings.database.url)
    require_schema(settings.database.url)
    require_kafka(settings.kafka, [*input_topics(settings), *output_topics(settings)])
    run_worker(settings, http_port=http_port, exit_when_idle_s=exit_when_idle)
