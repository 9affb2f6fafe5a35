"""`backorder-worker reevaluate [--dry-run] [--sku SKU ...]`: every waiting shipment
decided again now, e.g. after a settings change (SPEC §3, R4).

The walk commits page by page (``service_layer.reevaluation``); each page's outputs are
published through the relay as soon as it commits, and what could not be published is
tried once more before the command exits. Rows still unpublished then (Kafka down) stay
in the outbox for a worker's sweeper, and the command exits 1 to say so. A dry run
decides the same way, rolls every page back, needs no Kafka and prints the summary only.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import UTC, datetime

import click

from backorder_worker.bootstrap import Publishing, Services, build_publishing, build_services
from backorder_worker.entrypoints.commands import settings_of
from backorder_worker.entrypoints.jobs.pages import PublishPages, transient_retry
from backorder_worker.entrypoints.preflight import require_kafka, require_schema
from backorder_worker.service_layer.reevaluation import PageDone, ReevaluationSummary, reevaluate
from backorder_worker.service_layer.rounds import PAGE_SIZE


@click.command("reevaluate")
@click.option("--dry-run", is_flag=True, help="Decide and report, then roll back.")
@click.option("--sku", "skus", multiple=True, help="Only shipments needing this SKU (repeat).")
@click.option("--page-size", type=click.IntRange(1, 10_000), default=PAGE_SIZE, show_default=True)
@click.option(
    "--run-id",
    help="Names the outputs (default: reevaluate-<UTC time>); reuse it "
    "to finish an interrupted run with the same output ids.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def command(
    ctx: click.Context,
    dry_run: bool,
    skus: tuple[str, ...],
    page_size: int,
    run_id: str | None,
    as_json: bool,
) -> None:
    """Re-runs every waiting shipment now (after a settings change)."""
    settings = settings_of(ctx)
    now = datetime.now(UTC)
    run_id = run_id or f"reevaluate-{now:%Y%m%dT%H%M%SZ}"
    require_schema(settings.database.url)
    if not dry_run:
        require_kafka(settings.kafka)
    services = build_services(settings)
    publishing = None
    try:
        if not dry_run:
            publishing = _publishing(services)
        publish = PublishPages(None if publishing is None else publishing.relay)
        summary = _walk(services, publish, now, run_id, skus, dry_run, page_size)
        left = publish.flush()
    finally:
        if publishing is not None:
            publishing.close()
        services.close()
    _report(summary, run_id, dry_run, publish, left, as_json)
    if left:
        ctx.exit(1)


def _publishing(services: Services) -> Publishing:
    """Kafka must answer before anything changes: outputs are published as pages commit."""
    try:
        return build_publishing(services, client_id="backorder-worker-reevaluate")
    except Exception as error:  # kafka-python raises several kinds for "no broker"
        raise click.ClickException(f"cannot reach Kafka ({error}); nothing was changed") from error


def _walk(
    services: Services,
    publish: PublishPages,
    now: datetime,
    run_id: str,
    skus: tuple[str, ...],
    dry_run: bool,
    page_size: int,
) -> ReevaluationSummary:
    done = ReevaluationSummary()
    last_shown = time.monotonic()

    def after_page(page: PageDone) -> None:
        nonlocal done, last_shown
        publish(page)
        done += page.summary
        if time.monotonic() - last_shown >= 2.0:
            click.echo(f"page {page.number}: {done.evaluated} evaluated so far", err=True)
            last_shown = time.monotonic()

    return reevaluate(
        services.uow,
        services.policy,
        now,
        run_id,
        skus=frozenset(skus) if skus else None,
        dry_run=dry_run,
        page_size=page_size,
        retry=transient_retry(),
        after_page=after_page,
    )


def _report(
    summary: ReevaluationSummary,
    run_id: str,
    dry_run: bool,
    publish: PublishPages,
    left: int,
    as_json: bool,
) -> None:
    if as_json:
        published = {"queued": publish.queued, "published": publish.published, "left": left}
        payload = {"run_id": run_id, "dry_run": dry_run, **asdict(summary), "outputs": published}
        click.echo(json.dumps(payload))
        return
    click.echo(
        f"{'dry run, rolled back: ' if dry_run else ''}"
        f"re-evaluated {summary.evaluated} waiting shipments ({run_id}): "
        f"{summary.released} released, {summary.still_waiting} still waiting, "
        f"{summary.unroutable} unroutable"
    )
    if not dry_run:
        click.echo(f"published {publish.published} of {publish.queued} output events")
    if left:
        click.echo(f"{left} output events stay in the outbox for a worker's sweeper", err=True)
