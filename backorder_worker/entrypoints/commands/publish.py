"""`backorder-worker publish EVENT_TYPE`: one valid input event, from flags or `--data`.

The event is built and validated as the worker will decode it (``wire.input_events``)
before anything is sent, so a mistake is a usage error at once, not a dead letter later.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from backorder_worker.bootstrap import build_publisher
from backorder_worker.entrypoints.commands import settings_of
from backorder_worker.entrypoints.preflight import require_kafka
from backorder_worker.wire import InvalidMessage
from backorder_worker.wire.input_events import build_event, data_from_flags, key_for, topic_for


@click.command("publish")
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
def command(
    ctx: click.Context,
    /,
    event_type: str,
    data_json: str | None,
    event_id: str | None,
    event_time: str | None,
    **flags: Any,
) -> None:
    """Publishes one valid event of EVENT_TYPE (e.g. stock.stowed) to its topic."""
    data = _data_option(data_json) if data_json is not None else None
    settings = settings_of(ctx)
    try:
        if data is None:
            data = data_from_flags(event_type, flags)
        when = datetime.fromisoformat(event_time) if event_time else None
        event_id, value = build_event(event_type, data, event_id=event_id, time=when)
    except (InvalidMessage, ValueError, KeyError) as error:
        raise click.ClickException(str(error)) from error
    topic = topic_for(event_type, settings)
    require_kafka(settings.kafka, [topic])
    publisher = build_publisher(settings, "backorder-worker-publish")
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
