"""`backorder-worker replay --topic T --from …`: a range of a topic re-processed through the
worker's pipeline, outside its consumer group (``entrypoints/replay.py`` does the work).

This module is the command line: its options, a progress line on stderr at most once a
second, the summary on stdout, exit 1 when some outputs stayed unpublished.
"""

from __future__ import annotations

import time
from datetime import datetime

import click

from backorder_worker.bootstrap import build_services
from backorder_worker.entrypoints.commands import settings_of
from backorder_worker.entrypoints.preflight import require_kafka, require_schema
from backorder_worker.entrypoints.worker.replay import replay
from backorder_worker.entrypoints.worker.replay_range import ReplayError, ReplayProgress


def _time_option(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not ISO 8601 (e.g. 2026-05-01T10:00:00Z)") from None


class _ProgressLine:
    """A line on stderr at most every `every_s` seconds: records read of the estimate."""

    def __init__(self, every_s: float = 1.0) -> None:
        self.every_s, self._last = every_s, 0.0

    def __call__(self, state: ReplayProgress) -> None:
        now = time.monotonic()
        if now - self._last < self.every_s and state.partitions_done < state.partitions:
            return
        self._last = now
        click.echo(
            f"replay: {state.read}/{state.total_estimate} records, "
            f"{state.partitions_done}/{state.partitions} partitions done",
            err=True,
        )


@click.command("replay")
@click.option(
    "--topic",
    required=True,
    help="An input topic or the dead-letter topic, by name or setting (e.g. dead-letter).",
)
@click.option(
    "--from",
    "from_time",
    metavar="TIME",
    callback=_time_option,
    help="Only records with a timestamp at or after TIME.",
)
@click.option("--from-offset", type=click.IntRange(min=0), help="Start each partition here.")
@click.option(
    "--to",
    "to_time",
    metavar="TIME",
    callback=_time_option,
    help="Stop a partition at its first record after TIME.",
)
@click.option(
    "--to-offset",
    type=click.IntRange(min=0),
    help="Stop each partition after this offset (inclusive).",
)
@click.option(
    "--partition", "partitions", type=int, multiple=True, help="Only this partition (repeatable)."
)
@click.option(
    "--dry-run", is_flag=True, help="Roll everything back and publish nothing; report only."
)
@click.pass_context
def command(
    ctx: click.Context,
    topic: str,
    from_time: datetime | None,
    from_offset: int | None,
    to_time: datetime | None,
    to_offset: int | None,
    partitions: tuple[int, ...],
    dry_run: bool,
) -> None:
    """Re-processes a range of TOPIC through the worker's pipeline, outside its consumer group.

    Safe to repeat: inputs already applied have no second effect. TIME is ISO 8601 (UTC
    when it has no offset). Replaying the dead-letter topic re-processes the original
    records; those still invalid are dead-lettered again."""
    if from_time is None and from_offset is None:
        raise click.UsageError("give --from TIME or --from-offset N (0: the whole topic)")
    settings = settings_of(ctx)
    require_schema(settings.database.url)
    require_kafka(settings.kafka)
    services = build_services(settings)
    try:
        summary = replay(
            services,
            settings,
            topic,
            from_time=from_time,
            from_offset=from_offset,
            to_time=to_time,
            to_offset=to_offset,
            partitions=partitions or None,
            dry_run=dry_run,
            progress=_ProgressLine(),
        )
    except ReplayError as error:
        raise click.ClickException(str(error)) from error
    finally:
        services.close()
    click.echo(summary.line())
    if summary.unpublished:
        raise click.ClickException("some outputs were not published; the worker's sweeper will")
