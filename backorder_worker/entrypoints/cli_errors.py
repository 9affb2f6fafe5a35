"""The one error path of the command line: every expected failure in one or two lines.

`CliGroup` runs a command and turns what it raises into `Error: …` on stderr, naming the
file, key or variable concerned and what to do, with an exit code: `USAGE` (2) for the
command line and the settings (file, TOML, values, variables), `RUNTIME` (1) for what
fails while running (Postgres, Kafka, the HTTP port, an event refused). With `--debug` the
exception goes through with its traceback instead. An exception nobody expected is
reported in one line too, with the hint to rerun with `--debug`.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from typing import Any, Final

import click
from pydantic import ValidationError

from backorder_worker.adapters.kafka.errors import BrokerFailure, BrokerTrouble, broker_failure
from backorder_worker.adapters.postgres.errors import (
    DatabaseFailure,
    DatabaseTrouble,
    database_failure,
)
from backorder_worker.settings import CONFIG_ENV_VAR, Settings, load_settings
from backorder_worker.settings_errors import SettingsError, explain_validation_error

USAGE: Final = 2
RUNTIME: Final = 1
# click >= 8.2 raises this (a UsageError) for a group run without a command.
_NO_ARGS_IS_HELP: Final[type[click.UsageError]] = getattr(
    click.exceptions, "NoArgsIsHelpError", type("_NeverRaised", (click.UsageError,), {})
)
_MIGRATE: Final = "run `backorder-worker migrate` (as the schema owner) first"


class CliFailure(click.ClickException):
    """An expected failure at run time, said for a person; shown as `Error: <message>`."""

    exit_code = RUNTIME


class ConfigFailure(CliFailure):
    """The settings (file, TOML, a value, a variable) are wrong: fix them and run again."""

    exit_code = USAGE


class CliGroup(click.Group):
    """A click group whose commands fail in one or two lines (see the module docstring)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            if ctx.params.get("debug"):
                raise
            obj = ctx.obj if isinstance(ctx.obj, dict) else {}
            raise explain(error, obj.get("config_path")) from error

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except _NO_ARGS_IS_HELP as error:  # the bare group name: its help, as click shows it
            error.show()
            sys.exit(error.exit_code)
        except click.UsageError as error:
            # click's own form is four lines with the usage; the error and the hint suffice.
            hint = f"Try '{error.ctx.command_path} --help' for help." if error.ctx else ""
            click.echo(f"Error: {error.format_message()}\n{hint}".rstrip(), err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(RUNTIME)
        sys.exit(result if isinstance(result, int) else 0)


def explain(error: Exception, config_path: str | None) -> CliFailure:
    """The one-line message and exit code for `error`, raised while running a command with
    the settings file `config_path` (`--config`, else `$BACKORDER_CONFIG`)."""
    path = config_path or os.environ.get(CONFIG_ENV_VAR) or None
    if isinstance(error, SettingsError):
        return ConfigFailure(str(error))
    if isinstance(error, ValidationError) and error.title == Settings.__name__:
        return ConfigFailure(explain_validation_error(error, Settings, os.environ, path))
    settings = _settings_or_none(config_path)
    database = database_failure(error)  # a TransientError retried in vain: its cause
    if database is not None:
        return _database(database)
    broker = broker_failure(error)
    if broker is not None:
        return _broker(broker, settings)
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return CliFailure(f"{error.strerror}: stop the other process or choose another port")
    if isinstance(error, OSError) and error.filename:
        return CliFailure(f"{error.filename}: {error.strerror}")
    return CliFailure(
        f"unexpected {type(error).__name__}: {_first_line(error)} "
        "(rerun with --debug for the traceback)"
    )


def _database(failure: DatabaseFailure) -> CliFailure:
    reason = _first_line(failure.reason)
    if failure.trouble is DatabaseTrouble.NO_SCHEMA:
        return CliFailure(f"the database has no worker schema ({reason}): {_MIGRATE}")
    if failure.trouble is DatabaseTrouble.UNREACHABLE:
        return CliFailure(
            f"cannot use Postgres: {reason}; check [database] url (BACKORDER_DATABASE__URL) "
            "and that the server runs"
        )
    return CliFailure(f"Postgres refused: {reason}")


def _settings_or_none(config_path: str | None) -> Settings | None:
    """The settings the failed command ran with, to name its broker and timeout; they loaded
    once already, so this only fails when the failure was in the settings themselves."""
    try:
        return load_settings(config_path)
    except Exception:
        return None


def _broker(failure: BrokerFailure, settings: Settings | None) -> CliFailure:
    if failure.trouble is BrokerTrouble.NOT_PUBLISHED:
        return CliFailure(
            f"{failure.reason}; check that the topic exists and the worker may write it"
        )
    if failure.trouble is BrokerTrouble.OTHER:
        return CliFailure(f"Kafka: {failure.reason}")
    where, within = "", ""
    if settings is not None:
        where = f" at {settings.kafka.bootstrap_servers}"
        within = f" within {settings.kafka.connect_timeout_s:g} s ([kafka] connect_timeout_s)"
    return CliFailure(
        f"no Kafka broker answered{where}{within}; check [kafka] bootstrap_servers "
        "(BACKORDER_KAFKA__BOOTSTRAP_SERVERS), the security settings, and that the brokers run"
    )


def _first_line(error: object) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
