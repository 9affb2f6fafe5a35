"""`backorder-worker`: the command group, its global options, and the list of its commands.

Each command is a module of ``entrypoints/commands/`` exposing one click ``command``;
``COMMANDS`` below registers them, and nothing registers itself by being imported. A
command loads the settings once (`--config` or `$BACKORDER_CONFIG`, then the
`BACKORDER_<SECTION>__<KEY>` environment, see ``commands/__init__.py``) and asks
`bootstrap` for the clients it needs. Failures go through `cli_errors.CliGroup`.
"""

from __future__ import annotations

import logging

import click

from backorder_worker.entrypoints.cli_errors import CliGroup
from backorder_worker.entrypoints.commands import (
    demand,
    demo,
    migrate,
    publish,
    reevaluate,
    replay,
    run,
    waiting,
    what_if,
)
from backorder_worker.observability.logging import configure_logging

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


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


# In the order `--help` lists them (click sorts them by name anyway).
COMMANDS: tuple[click.Command, ...] = (
    migrate.command,
    run.command,
    publish.command,
    demo.command,
    replay.command,
    waiting.command,
    reevaluate.command,
    demand.command,
    what_if.command,
)

for _command in COMMANDS:
    main.add_command(_command)
