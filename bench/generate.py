"""Loads a realistic waiting room into a migrated database, fast, with COPY.

What it writes for each waiting shipment is what the worker itself would have stored when
it arrived and nothing could complete it (``bench.rows``: the core's decision, the worker's
row mapping). Only the ``shipment_history`` rows of the intake are left out: nothing on the
release path reads them. Secondary indexes and foreign keys are dropped for the load and
rebuilt from their own definitions after it; the tables are loaded frozen (COPY FREEZE),
as a long-running database would have them after vacuum, then analysed.

The room: ``waiting`` shipments of 1-5 lines over ``skus`` SKUs with Zipf-distributed
demand, STH and BOPIS (pickup at one of the locations), entered over the past weeks; every
location active for both fulfilment types; a SKU-wide BACKORDER listing for every SKU of
the wider ``stock_skus`` space that stock events are drawn from; stock and announced supply
of that assortment, none of which could complete a waiting shipment (invariant I3). Plus
``burst`` one-unit shipments of ``BURST_SKU``, and today's daily re-evaluation marked done
(a running deployment has done it; the benchmark measures events, not that job).

    python -m bench.generate --database-url postgresql+psycopg://postgres@127.0.0.1/b \
        --waiting 100000
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from backorder_worker.adapters.postgres.tables import SKU_WIDE
from backorder_worker.domain.model import Shipment
from bench.database import conninfo
from bench.room import (
    BURST_SKU,
    RoomSpec,
    single_unit_shipments,
    sku_name,
    stock_rows,
    supply_rows,
    zipf_shipments,
)
from bench.rows import SHIPMENT_COLUMNS, RoomRows, catalog_for


def copy_shipments(
    cur: psycopg.Cursor[Any],
    shipments: Iterable[tuple[Shipment, datetime]],
    rows: RoomRows,
    freeze: bool,
) -> int:
    """COPYs shipments and their ``waiting_skus`` rows; returns the number of shipments."""
    options = " WITH (FREEZE)" if freeze else ""
    index: list[Any] = []
    count = 0
    with cur.copy(f"COPY shipments ({', '.join(SHIPMENT_COLUMNS)}) FROM STDIN{options}") as copy:
        for shipment, entered_at in shipments:
            row, skus = rows.rows(shipment, entered_at)
            copy.write_row(row)
            index += skus
            count += 1
    statement = f"COPY waiting_skus (shipment_id, sku, priority, entered_at) FROM STDIN{options}"
    with cur.copy(statement) as copy:
        for entry in index:
            copy.write_row(entry)
    return count


def copy_stock(cur: psycopg.Cursor[Any], spec: RoomSpec, now: datetime) -> None:
    """The stock positions and announced supply of the assortment (``room.stock_rows`` and
    ``room.supply_rows``), frozen like the rest of the load."""
    with cur.copy("COPY stock_positions (location_id, sku, free) FROM STDIN WITH (FREEZE)") as copy:
        for row in stock_rows(spec):
            copy.write_row(row)
    columns = "supply_id, location_id, sku, quantity, expected_date"
    with cur.copy(f"COPY supplies ({columns}) FROM STDIN WITH (FREEZE)") as copy:
        for row in supply_rows(spec, now):
            copy.write_row(row)


def copy_listings(cur: psycopg.Cursor[Any], skus: Iterable[str], freeze: bool = False) -> None:
    options = " WITH (FREEZE)" if freeze else ""
    columns = "sku, location_id, out_of_stock_behaviour, future_inventory_enabled"
    with cur.copy(f"COPY listings ({columns}) FROM STDIN{options}") as copy:
        for sku in skus:
            copy.write_row((sku, SKU_WIDE, "BACKORDER", True))


def _deferred_index_ddl(cur: psycopg.Cursor[Any], tables: Sequence[str]) -> list[str]:
    """Drops the secondary indexes and foreign keys of ``tables``; returns the DDL that
    recreates them exactly (from the catalog, so it matches the migrations)."""
    cur.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)",
        [list(tables)],
    )
    foreign = cur.fetchall()
    cur.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "AND tablename = ANY(%s) AND indexname NOT IN (SELECT conname FROM pg_constraint)",
        [list(tables)],
    )
    indexes = cur.fetchall()
    for table, name, _ in foreign:
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    ddl = [definition for _, definition in indexes]
    ddl += [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {d}' for table, name, d in foreign]
    return ddl


def mark_daily_job_done(cur: psycopg.Cursor[Any], now: datetime) -> None:
    """Today's (and tomorrow's, for a run across midnight UTC) re-evaluation is done."""
    for day in (now.date(), now.date() + timedelta(days=1)):
        cur.execute(
            "INSERT INTO job_runs (job, run_on, owner, finished_at, summary) "
            "VALUES ('daily-reevaluation', %s, 'bench', now(), '{}') ON CONFLICT DO NOTHING",
            [day],
        )


def load_room(url: str, spec: RoomSpec, log: Any = print) -> dict[str, Any]:
    """Loads the room into an empty, migrated database; returns what it loaded and how fast."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    catalog = catalog_for(spec, [*map(sku_name, range(spec.skus)), BURST_SKU])
    rows = RoomRows(catalog, now)
    with psycopg.connect(conninfo(url)) as conn, conn.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute("SET synchronous_commit = off")
        cur.execute(
            "TRUNCATE shipments, waiting_skus, listings, locations, stock_positions, supplies"
        )
        ddl = _deferred_index_ddl(cur, ["shipments", "waiting_skus", "stock_positions", "supplies"])
        with cur.copy(
            "COPY locations (location_id, active, fulfillment_types, rank) FROM STDIN"
        ) as copy:
            for location in catalog.locations.values():
                copy.write_row((location.location_id, True, ["STH", "BOPIS"], location.rank))
        copy_listings(cur, [sku_name(i) for i in range(spec.stock_skus)] + [BURST_SKU], freeze=True)
        copy_stock(cur, spec, now)
        room = zipf_shipments(spec, now)
        burst_at = now - timedelta(days=1)
        burst = single_unit_shipments("B", spec.burst, lambda _: BURST_SKU, burst_at)
        loaded = copy_shipments(cur, _chain(room, burst), rows, freeze=True)
        copied = time.perf_counter() - started
        log(f"generate: copied {loaded:,} shipments in {copied:.1f} s; building indexes")
        for statement in ddl:
            cur.execute(statement)
        mark_daily_job_done(cur, now)
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("ANALYZE")
        lines = conn.execute("SELECT count(*) FROM waiting_skus").fetchone()
    seconds = time.perf_counter() - started
    log(f"generate: {loaded:,} waiting shipments ready in {seconds:.1f} s")
    return {
        "waiting": spec.waiting,
        "burst": spec.burst,
        "index_rows": lines[0] if lines else 0,
        "copy_s": round(copied, 2),
        "seconds": round(seconds, 2),
    }


def load_probes(url: str, spec: RoomSpec, prefix: str, count: int) -> list[str]:
    """``count`` waiting shipments, each of one unit of its own new SKU (listed); returns
    the SKUs, in shipment order. Safe while the worker runs: no one waits for these SKUs."""
    now = datetime.now(UTC)
    skus = [f"{prefix}SKU{i:06d}" for i in range(count)]
    rows = RoomRows(catalog_for(spec, skus), now)
    with psycopg.connect(conninfo(url)) as conn, conn.cursor() as cur:
        copy_listings(cur, skus)
        shipments = single_unit_shipments(prefix, count, skus.__getitem__, now - timedelta(hours=1))
        copy_shipments(cur, shipments, rows, freeze=False)
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("ANALYZE shipments, waiting_skus, listings")
    return skus


def _chain(*parts: Iterable[tuple[Shipment, datetime]]) -> Iterator[tuple[Shipment, datetime]]:
    for part in parts:
        yield from part


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a migrated, empty database")
    parser.add_argument("--waiting", type=int, default=RoomSpec.waiting)
    parser.add_argument("--skus", type=int, default=None, help="default: waiting / 10")
    parser.add_argument("--zipf-s", type=float, default=RoomSpec.zipf_s)
    parser.add_argument("--seed", type=int, default=RoomSpec.seed)
    args = parser.parse_args()
    skus = args.skus or max(1, args.waiting // 10)
    spec = RoomSpec(args.waiting, skus, skus * 10, zipf_s=args.zipf_s, seed=args.seed)
    print(json.dumps(load_room(args.database_url, spec)))


if __name__ == "__main__":
    main()
