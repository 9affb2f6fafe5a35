"""How much Postgres the bounded tables take per million input events (docs/operations.md).

Feeds a generated run through the real handlers, one transaction per event, into a fresh
schema; publishes every outbox row; then reads `pg_total_relation_size` (heap, TOAST and
indexes) and the row count of each table. Bytes per row times rows per event, times a
million, is the size a million events of this mix leave behind, which the retention
settings then bound to their number of days.

The mix, per order: one `shipment.created` of two lines that waits, two `stock.stowed`
that release it (the second completes it), two `stock.stowed` of SKUs nobody waits for
(most stock events), and one `stock.level` every tenth order. Event ids are UUIDs.

    .venv/bin/python -m bench.table_sizes --database-url postgresql+psycopg://…/db --orders 10000
"""

from __future__ import annotations

import argparse
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from backorder_worker.adapters.event_codec import decision_encoder
from backorder_worker.adapters.postgres.engine import make_engine
from backorder_worker.adapters.postgres.migrate import migrate
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.domain.model import FulfillmentType, Line, OutOfStockBehaviour, ReleasePolicy
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.handlers import handle
from backorder_worker.settings import TopicsSettings

TABLES = ("inbox", "outbox", "shipment_history", "allocations")
TYPES = {
    c.StowStock: "stock.stowed",
    c.SetStockLevel: "stock.level",
    c.UpdateListing: "listing.updated",
    c.UpdateLocation: "location.updated",
    c.CreateShipment: "shipment.created",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--orders", type=int, default=10_000)
    args = parser.parse_args()
    admin = sa.create_engine(args.database_url)
    schema = f"sizes_{uuid.uuid4().hex[:8]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = (
        sa.make_url(args.database_url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    try:
        migrate(url)
        engine = make_engine(url)
        events = feed(engine, args.orders)
        report(engine, events)
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def feed(engine: sa.Engine, orders: int) -> int:
    uow = PostgresUnitOfWork(engine, TopicsSettings(), encode=decision_encoder(TopicsSettings()))
    policy = ReleasePolicy()
    clock = datetime(2026, 5, 1, tzinfo=UTC)
    sent = 0

    def send(command: c.Command) -> None:
        nonlocal clock, sent
        clock += timedelta(seconds=1)
        digest = hashlib.sha256(repr(command).encode()).hexdigest()
        envelope = c.Envelope(str(uuid.uuid4()), TYPES[type(command)], clock, digest, command)
        with uow() as store:
            handle(envelope, store, policy, clock)
        sent += 1

    send(c.UpdateLocation("DC-1", True, frozenset(FulfillmentType)))
    for n in range(orders):
        a, b = f"SKU-{n % 500}", f"SKU-{500 + n % 500}"
        if n < 500:  # each SKU listed once
            for sku in (a, b):
                send(c.UpdateListing(sku, OutOfStockBehaviour.BACKORDER))
        lines = (Line(f"SH-{n}-1", a, 1), Line(f"SH-{n}-2", b, 2))
        send(c.CreateShipment(f"SH-{n}", f"OR-{n}", FulfillmentType.STH, lines))
        send(c.StowStock("DC-1", a, 1))
        send(c.StowStock("DC-1", b, 2))
        send(c.StowStock("DC-1", f"OTHER-{n % 2000}", 5))
        send(c.StowStock("DC-1", f"OTHER-{(n + 1000) % 2000}", 5))
        if n % 10 == 9:
            send(c.SetStockLevel("DC-1", a, 0, clock))
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE outbox SET published_at = now()"))
    # Compact rows (the UPDATE left a dead version of each): the live footprint. A table in
    # steady state keeps some free space on top, which autovacuum lets new rows reuse.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in TABLES:
            conn.execute(sa.text(f"VACUUM FULL {table}"))
    return sent


def report(engine: sa.Engine, events: int) -> None:
    print(f"events: {events}")
    header = ("table", "rows", "rows/event", "bytes", "bytes/row", "MB per 1M events")
    print("{:18} {:>9} {:>10} {:>12} {:>9} {:>17}".format(*header))
    with engine.connect() as conn:
        for table in TABLES:
            rows = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            size = conn.execute(sa.text(f"SELECT pg_total_relation_size('{table}')")).scalar_one()
            per_row = size / rows if rows else 0
            per_event = rows / events
            mb = per_event * per_row  # bytes per event = MB per million events
            print(f"{table:18} {rows:9d} {per_event:10.3f} {size:12d} {per_row:9.0f} {mb:17.0f}")


if __name__ == "__main__":
    main()
