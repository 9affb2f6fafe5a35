"""The naive baseline: every stock event re-routes every waiting shipment.

This is what a release job that re-evaluates the whole backlog does, run once per event.
For each sampled stock event it reads all waiting shipments from Postgres (with the
worker's own row mapping), the catalog and the stock of every SKU they need (with the
worker's own adapters), adds the event's units, and runs the worker's core, one
``ReleaseRound`` (``tests/rounds.py``), over all of them with no floors. Its decisions are
not written back: the baseline is timed without the writes it would also need, so it is a
generous one and the speedup against it is a lower bound.

Only the events measured count; nothing is extrapolated beyond them.

    python -m bench.naive --database-url postgresql+psycopg://postgres@127.0.0.1/b --events 3
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from backorder_worker.adapters.postgres import catalog, stock
from backorder_worker.adapters.postgres import supplies as postgres_supplies
from backorder_worker.adapters.postgres.engine import make_engine
from backorder_worker.adapters.postgres.rows import candidate_from_row
from backorder_worker.adapters.postgres.tables import shipments
from backorder_worker.domain.future_supply import pool_for
from backorder_worker.domain.model import Catalog
from backorder_worker.domain.outcomes import ShipmentReleased, Trigger
from bench.rows import POLICY
from tests.rounds import decide_round

StockEvent = tuple[str, str, int]  # location_id, sku, quantity


def naive_event(engine: sa.Engine, event: StockEvent, event_id: str) -> dict[str, Any]:
    """One stock event the naive way; returns its timings and what it decided."""
    location_id, sku, quantity = event
    now = datetime.now(UTC)
    started = time.perf_counter()
    with engine.connect() as conn:
        query = sa.select(shipments).where(shipments.c.state == sa.literal_column("'WAITING'"))
        candidates = [candidate_from_row(row) for row in conn.execute(query).mappings()]
        skus = {s for c in candidates for s in c.shipment.skus} | {sku}
        room = Catalog(catalog.all_locations(conn), catalog.listings_of(conn, skus))
        current = stock.current_stock(conn, skus)
        supplies = postgres_supplies.supplies_with_free_units(conn, skus)
    loaded = time.perf_counter()
    current[(location_id, sku)] = current.get((location_id, sku), 0) + quantity
    pool = pool_for(current, supplies, room, POLICY, now)
    trigger = Trigger(event_id, "stock.stowed")
    decisions = decide_round(candidates, room, POLICY, pool, now, trigger)
    finished = time.perf_counter()
    return {
        "waiting": len(candidates),
        "load_s": round(loaded - started, 3),
        "decide_s": round(finished - loaded, 3),
        "seconds": round(finished - started, 3),
        "decisions": len(decisions),
        "released": sum(isinstance(d, ShipmentReleased) for d in decisions),
    }


def measure_naive(url: str, events: Sequence[StockEvent], log: Any = print) -> dict[str, Any]:
    """Runs the sampled events one after another; events/s over exactly those."""
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        runs = []
        for i, event in enumerate(events):
            runs.append(naive_event(engine, event, f"naive-{i}"))
            log(f"naive: event {i + 1}/{len(events)} took {runs[-1]['seconds']:.2f} s")
    finally:
        engine.dispose()
    total = sum(run["seconds"] for run in runs)
    return {"events": len(runs), "events_per_s": round(len(runs) / total, 4), "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a database loaded by generate")
    parser.add_argument("--events", type=int, default=3)
    args = parser.parse_args()
    sample = [(f"L{i % 50:02d}", f"SKU{i:07d}", 5) for i in range(args.events)]
    print(json.dumps(measure_naive(args.database_url, sample)))


if __name__ == "__main__":
    main()
