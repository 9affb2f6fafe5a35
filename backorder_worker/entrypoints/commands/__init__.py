"""The operator commands of `backorder-worker`, one module each.

A command module exposes ``command``, a click command named as the operator types it, and
``cli.COMMANDS`` registers it. A command reads the settings with ``settings_of(ctx)`` —
once, from `--config` or `$BACKORDER_CONFIG` and the environment — and takes its clients
from `bootstrap`; how it prints (tables, JSON) lives in ``entrypoints/views.py``, what it
checks before starting in ``entrypoints/preflight.py``.
"""

from __future__ import annotations

import click

from backorder_worker.settings import Settings, load_settings


def settings_of(ctx: click.Context) -> Settings:
    """The settings for the command running in ``ctx`` (a subcommand's too)."""
    return load_settings(ctx.find_root().obj["config_path"])
