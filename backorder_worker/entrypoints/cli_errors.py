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
import sqlalchemy.exc
from kafka.errors import KafkaError, KafkaTimeoutError
from pydantic import ValidationError

from backorder_worker.adapters.kafka.producer import PublishError
from backorder_worker.service_layer.errors import TransientError
from backorder_worker.settings import CONFIG_ENV_VAR, Settings, load_settings
from backorder_worker.settings_errors import SettingsError, explain_validation_error

USAGE: Final = 2
RUNTIME: Final = 1
_UNDEFINED_TABLE: Final = "42P01"
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
    if isinstance(error, TransientError) and isinstance(error.__cause__, Exception):
        error = error.__cause__  # what the adapter translated, retried in vain: say what it was
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        return _database(error)
    if isinstance(error, KafkaTimeoutError) and _is_bootstrap(error):
        return _kafka_unreachable(error, settings)
    if isinstance(error, PublishError):
        return CliFailure(f"{error}; check that the topic exists and the worker may write it")
    if isinstance(error, KafkaError):
        return CliFailure(f"Kafka: {type(error).__name__}: {error}")
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return CliFailure(f"{error.strerror}: stop the other process or choose another port")
    if isinstance(error, OSError) and error.filename:
        return CliFailure(f"{error.filename}: {error.strerror}")
    return CliFailure(
        f"unexpected {type(error).__name__}: {_first_line(error)} "
        "(rerun with --debug for the traceback)"
    )


def _database(error: sqlalchemy.exc.DBAPIError) -> CliFailure:
    reason = _first_line(error.orig) if error.orig is not None else _first_line(error)
    if getattr(error.orig, "sqlstate", None) == _UNDEFINED_TABLE:
        return CliFailure(f"the database has no worker schema ({reason}): {_MIGRATE}")
    if isinstance(error, sqlalchemy.exc.OperationalError):
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


def _is_bootstrap(error: KafkaError) -> bool:
    return "bootstrap" in str(error).lower()  # "Unable to bootstrap from …" (kafka-python 3)


def _kafka_unreachable(error: KafkaError, settings: Settings | None) -> CliFailure:
    where, within = "", ""
    if settings is not None:
        where = f" at {settings.kafka.bootstrap_servers}"
        within = f" within {settings.kafka.connect_timeout_s:g} s ([kafka] connect_timeout_s)"
    return CliFailure(
        f"no Kafka broker answered{where}{within}; check [kafka] bootstrap_servers "
        "(BACKORDER_KAFKA__BOOTSTRAP_SERVERS), the security settings, and that the brokers run"
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
