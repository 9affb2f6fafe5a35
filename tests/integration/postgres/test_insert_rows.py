"""Plain rows written by ``insert_rows``: one INSERT over arrays for a few, COPY for many;
the same rows either way, in write order (ids from the identity follow it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.postgres.rows import COPY_FROM, insert_rows
from backorder_worker.adapters.postgres.tables import allocations, shipment_history

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("count", [1, 3, COPY_FROM - 1, COPY_FROM], ids=str)
def test_rows_go_in_whole_and_in_write_order_however_many(engine: sa.Engine, count: int) -> None:
    history = [
        {
            "shipment_id": f"S-{count - n}",  # ids descend: the order is the rows', not theirs
            "at": AT + timedelta(seconds=n),
            "event_id": f"e-{n}",
            "event_type": "stock.stowed",
            "state": "RELEASED",
            "detail": {"outcome": "released", "n": n, "lines": [{"sku": "KTP"}], "none": None},
        }
        for n in range(count)
    ]
    ledger: list[dict[str, Any]] = [
        {
            "location_id": "A",
            "sku": "KTP",
            "quantity": n + 1,
            "shipment_id": f"S-{n}",
            "supply_id": None if n % 2 == 0 or count == 1 else f"PO-{n}",
            "at": AT,
        }
        for n in range(count)
    ]
    with engine.begin() as conn:
        insert_rows(conn, shipment_history, history)
        insert_rows(conn, allocations, ledger)
        insert_rows(conn, allocations, [])
    h, a = shipment_history.c, allocations.c
    with engine.connect() as conn:
        got = conn.execute(
            sa.select(h.shipment_id, h.at, h.event_id, h.event_type, h.state, h.detail).order_by(
                h.id
            )
        )
        assert [dict(row._mapping) for row in got] == history
        got = conn.execute(
            sa.select(a.location_id, a.sku, a.quantity, a.shipment_id, a.supply_id, a.at).order_by(
                a.id
            )
        )
        assert [dict(row._mapping) for row in got] == ledger
