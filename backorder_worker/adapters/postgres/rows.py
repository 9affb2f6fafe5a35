"""Explicit mapping between table rows and domain values; no row climbs above the adapter.

JSONB columns hold plain JSON (dates as ISO text). Times read back are normalised to UTC,
whatever the session's time zone, so that what a replica publishes from a stored time is
byte-for-byte the same on every replica (I4).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB

from backorder_worker.domain.fences import Reason
from backorder_worker.domain.inventory import Supply
from backorder_worker.domain.model import (
    Candidate,
    FulfillmentType,
    Line,
    Listing,
    Location,
    Origin,
    OutOfStockBehaviour,
    Shipment,
)
from backorder_worker.service_layer.ports import ShipmentRecord, ShipmentState

Row = sa.RowMapping
JsonObject = dict[str, Any]


def text_array(values: Iterable[str]) -> sa.BindParameter[Any]:
    """One ``text[]`` parameter (for ``= ANY(…)`` and ``unnest``): one statement text
    whatever the number of values, so Postgres can reuse its plan."""
    distinct: Any = sorted(set(values))
    return sa.bindparam(None, distinct, type_=ARRAY(sa.Text), unique=True)


def copy_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Inserts plain rows (no defaults needed beyond the table's, no RETURNING) with COPY,
    in this transaction: for hundreds of rows a fraction of what an INSERT costs to bind,
    parse and run. JSONB values go as their JSON text."""
    if not rows:
        return
    columns = list(rows[0])
    as_json = {name for name in columns if isinstance(table.c[name].type, JSONB)}
    driver = conn.connection.driver_connection
    assert driver is not None
    names = ", ".join(columns)
    with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [json.dumps(row[name]) if name in as_json else row[name] for name in columns]
            )


COPY_FROM = 200  # rows: from here on COPY beats one INSERT over arrays


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Inserts plain rows as ``copy_rows`` does, in write order (ids from an identity
    follow it). A few rows go in one INSERT over one array per column: one round trip,
    where a COPY takes two (its start, then its data and end) — a one-event batch writes
    one history row and one ledger row. Many go by COPY."""
    if len(rows) >= COPY_FROM:
        copy_rows(conn, table, rows)
        return
    if not rows:
        return
    columns = tuple(rows[0])
    conn.execute(_insert_from_arrays(table, columns, "a"), insert_params(table, columns, "a", rows))


def inserting(table: sa.Table, columns: Sequence[str], prefix: str) -> Any:
    """A data-modifying CTE that inserts rows given as one array parameter per column
    (``{prefix}_{column}``, JSONB as JSON text; ``insert_params`` builds them), in write
    order: to add to another statement of the same flush, one round trip for both."""
    return _insert_from_arrays(table, tuple(columns), prefix).cte(f"{prefix}_insert")


@functools.cache
def _insert_from_arrays(table: sa.Table, columns: tuple[str, ...], prefix: str) -> sa.Insert:
    """``INSERT … SELECT … FROM unnest(…) WITH ORDINALITY ORDER BY`` the ordinality, built
    once per table, columns and prefix: one statement text, so Postgres parses and plans it
    once per connection whatever the number of rows."""
    arrays = [
        sa.bindparam(
            f"{prefix}_{name}",
            type_=ARRAY(sa.Text() if isinstance(table.c[name].type, JSONB) else table.c[name].type),
        )
        for name in columns
    ]
    given = (
        sa.func.unnest(*arrays)
        .table_valued(*columns, with_ordinality="n")
        .render_derived(f"{prefix}_rows")
    )
    values = [
        sa.cast(given.c[name], JSONB) if isinstance(table.c[name].type, JSONB) else given.c[name]
        for name in columns
    ]
    rows = sa.select(*values).order_by(given.c.n)
    return sa.insert(table).from_select(list(columns), rows)


def insert_params(
    table: sa.Table, columns: Sequence[str], prefix: str, rows: Sequence[Mapping[str, Any]]
) -> dict[str, list[Any]]:
    """The parameters of ``inserting(table, columns, prefix)`` for these rows."""
    as_json = {name for name in columns if isinstance(table.c[name].type, JSONB)}
    return {
        f"{prefix}_{name}": [json.dumps(r[name]) if name in as_json else r[name] for r in rows]
        for name in columns
    }


def unnested(name: str, **columns: sa.types.TypeEngine[Any]) -> Any:
    """A table of parallel array parameters, one per column: one statement text, and one
    plan, whatever the number of rows (a VALUES list is compiled and planned anew)."""
    arrays = [sa.bindparam(column, type_=ARRAY(kind)) for column, kind in columns.items()]
    return sa.func.unnest(*arrays).table_valued(*columns).render_derived(name)


def recordset(name: str, param: str, **columns: sa.types.TypeEngine[Any]) -> Any:
    """A table of rows given as one JSON array of objects (``json_rows``), one key per
    column: one statement text and plan whatever the number of rows, like ``unnested``,
    and one ``json.dumps`` (in C) instead of a text-format array per column (psycopg's
    array dumping and escaping, in Python, was most of a batched write's client time).
    A JSON null is SQL NULL; a JSONB column takes the nested JSON value as it is."""
    document = sa.cast(sa.bindparam(param, type_=sa.Text), JSON)
    table = sa.func.json_to_recordset(document).table_valued(
        *(sa.column(column, kind) for column, kind in columns.items())
    )
    return table.render_derived(name, with_types=True)


def json_rows(rows: Iterable[Mapping[str, Any]]) -> str:
    """The parameter of a ``recordset``: datetimes as ISO 8601 text with their offset (the
    same instant ``timestamptz`` stores; a naive one is read in the session's zone, as a
    ``timestamp`` parameter is), dates as ISO text."""
    return json.dumps(rows if isinstance(rows, list) else list(rows), default=_iso)


def _iso(value: object) -> str:
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def lines_json(lines: Iterable[Line]) -> list[JsonObject]:
    return [
        {"line_id": ln.line_id, "sku": ln.sku, "quantity": ln.quantity, "bundle_id": ln.bundle_id}
        for ln in lines
    ]


def reasons_json(reasons: Iterable[Reason]) -> list[JsonObject]:
    return [
        {
            "fence": r.fence.value,
            "mode": r.mode.value,
            "sku": r.sku,
            "location_id": r.location_id,
            "requested": r.requested,
            "assignable": r.assignable,
            "detail": r.detail,
        }
        for r in reasons
    ]


def shipment_values(shipment: Shipment) -> JsonObject:
    """The columns that describe the shipment itself (not its state in the room)."""
    return {
        "shipment_id": shipment.shipment_id,
        "order_id": shipment.order_id,
        "fulfillment_type": shipment.fulfillment_type.value,
        "pickup_location_id": shipment.pickup_location_id,
        "priority": shipment.priority,
        "split_allowed": shipment.split_allowed,
        "backorder_days": shipment.backorder_days,
        "lines": lines_json(shipment.lines),
    }


def shipment_from_row(row: Row) -> Shipment:
    return Shipment(
        shipment_id=row["shipment_id"],
        order_id=row["order_id"],
        fulfillment_type=FulfillmentType(row["fulfillment_type"]),
        lines=tuple(
            Line(ln["line_id"], ln["sku"], ln["quantity"], ln.get("bundle_id"))
            for ln in row["lines"]
        ),
        pickup_location_id=row["pickup_location_id"],
        priority=row["priority"],
        split_allowed=row["split_allowed"],
        backorder_days=row["backorder_days"],
    )


def record_from_row(row: Row) -> ShipmentRecord:
    return ShipmentRecord(
        shipment=shipment_from_row(row),
        state=ShipmentState(row["state"]),
        entered_at=utc(row["entered_at"]),
        backordered_at=utc(row["backordered_at"]),
        location_id=row["location_id"],
        expected_date=row["expected_date"],
        parent_id=row["parent_id"],
        short_picks=row["short_picks"],
    )


def candidate_from_row(row: Row) -> Candidate:
    entered_at = utc(row["entered_at"])
    assert entered_at is not None  # the check constraint waiting_entered guarantees it
    return Candidate(
        shipment=shipment_from_row(row),
        entered_at=entered_at,
        origin=Origin.WAITING,
        backordered_at=utc(row["backordered_at"]),
    )


def location_from_row(row: Row) -> Location:
    return Location(
        location_id=row["location_id"],
        active=row["active"],
        fulfillment_types=frozenset(FulfillmentType(ft) for ft in row["fulfillment_types"]),
        rank=row["rank"],
    )


def listing_from_row(row: Row) -> Listing:
    return Listing(
        sku=row["sku"],
        out_of_stock_behaviour=OutOfStockBehaviour(row["out_of_stock_behaviour"]),
        future_inventory_enabled=row["future_inventory_enabled"],
        location_id=row["location_id"] or None,  # '' is the SKU-wide listing
    )


def supply_from_row(row: Row) -> Supply:
    return Supply(
        supply_id=row["supply_id"],
        location_id=row["location_id"],
        sku=row["sku"],
        quantity=row["quantity"],
        expected_date=row["expected_date"],
        promised=row["promised"],
    )
