"""Writing many decisions at once: a round's releases and reports in a few statements.

The store keeps a round's decisions and writes them when something is about to read what
they change (and before commit); ``decision_rows.py`` builds the rows. The guards hold in
bulk too:

- a released parent that waited must still be WAITING (a guarded UPDATE; fewer rows than
  asked means another transaction released one first: ``ConcurrentRelease``, retried);
- a parent released at intake (``backordered_at`` is None: it never waited) is inserted;
  if it already exists, the same;
- a report only overwrites a WAITING or UNROUTABLE row, never a released or cancelled one;
- draws are guarded updates: the database refuses an oversell (``OversellRefused``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, insert

from backorder_worker.adapters.postgres.decision_rows import (
    child_row,
    history_of_release,
    history_of_report,
    receiver_of,
    released_state,
    split_off_row,
    unroutable_values,
)
from backorder_worker.adapters.postgres.draws import apply_draws
from backorder_worker.adapters.postgres.history import HistoryRow, write_history
from backorder_worker.adapters.postgres.rows import (
    COPY_FROM,
    insert_params,
    inserting,
    json_rows,
    recordset,
    shipment_values,
    unnested,
)
from backorder_worker.adapters.postgres.tables import shipment_history, shipments
from backorder_worker.adapters.postgres.waiting_room import (
    enter_waiting_room,
    leave_waiting_room,
    leaving_with,
)
from backorder_worker.domain.inventory import Draw
from backorder_worker.domain.outcomes import (
    Decision,
    ShipmentReleased,
    ShipmentUnroutable,
    WaitState,
)
from backorder_worker.service_layer.ports import ConcurrentRelease, ShipmentState

_MAY_WAIT = (ShipmentState.WAITING.value, ShipmentState.UNROUTABLE.value)


Timed = tuple[Decision, datetime]  # a decision and the ``now`` it was made at

_TZ = sa.DateTime(timezone=True)
_RELEASED_COLUMNS = ("state", "location_id", "expected_date", "backordered_at", "updated_at")
_RELEASED = unnested(
    "released",
    r_shipment_id=sa.Text(),
    r_state=sa.Text(),
    r_location_id=sa.Text(),
    r_expected_date=sa.Date(),
    r_lines=sa.Text(),
    r_backordered_at=_TZ,
    r_updated_at=_TZ,
)
# Every waited-for parent of a flush in one statement: rows that are no longer WAITING
# are left alone and missing from what it returns (I2). The same statement takes the ones
# it released out of the waiting room (a CTE): fewer rows than asked raises, and the
# transaction rolls back, so leaving only the released ones out is leaving them all out.
_RELEASING = (
    sa.update(shipments)
    .where(
        shipments.c.shipment_id == _RELEASED.c.r_shipment_id,
        shipments.c.state == ShipmentState.WAITING.value,
    )
    .values(
        {name: _RELEASED.c[f"r_{name}"] for name in _RELEASED_COLUMNS}
        | {"lines": sa.cast(_RELEASED.c.r_lines, JSONB)}
    )
    .returning(shipments.c.shipment_id)
    .cte("released_rows")
)
_RELEASE_WAITING = sa.select(_RELEASING.c.shipment_id).add_cte(leaving_with(_RELEASING))
# ... and, when the flush holds releases only, their history rows too (a release that
# raises rolls them back with the rest).
_HISTORY_COLUMNS = ("shipment_id", "at", "event_id", "event_type", "state", "detail")
_RELEASE_WAITING_WITH_HISTORY = _RELEASE_WAITING.add_cte(
    inserting(shipment_history, _HISTORY_COLUMNS, "h")
)

# Every report of a flush in one upsert over one JSON document (``recordset``): one
# statement text, parsed and planned once, whatever the number of rows (a multi-row VALUES
# list was compiled, split by the driver and planned anew per flush; text-format arrays
# were dumped and escaped in Python, column by column). A report only overwrites a WAITING
# or UNROUTABLE row; the rows it left alone are missing from what it returns.
# ``unroutable_values`` gives exactly these columns; lines and reasons are nested JSON, read
# as JSONB (the same value their JSON text cast to JSONB was).
_REPORT_COLUMNS: dict[str, sa.types.TypeEngine[Any]] = {
    "shipment_id": sa.Text(),
    "order_id": sa.Text(),
    "fulfillment_type": sa.Text(),
    "pickup_location_id": sa.Text(),
    "priority": sa.Integer(),
    "split_allowed": sa.Boolean(),
    "backorder_days": sa.Integer(),
    "lines": JSONB(),
    "state": sa.Text(),
    "entered_at": _TZ,
    "backordered_at": _TZ,
    "expected_release_by": _TZ,
    "overdue": sa.Boolean(),
    "reasons": JSONB(),
    "updated_at": _TZ,
}
_REPORTED = recordset("reported", "reports", **_REPORT_COLUMNS)
_INSERT_REPORTS = insert(shipments).from_select(
    list(_REPORT_COLUMNS), sa.select(*(_REPORTED.c[name] for name in _REPORT_COLUMNS))
)
_UPSERT_REPORTS = _INSERT_REPORTS.on_conflict_do_update(
    index_elements=[shipments.c.shipment_id],
    set_={name: _INSERT_REPORTS.excluded[name] for name in list(_REPORT_COLUMNS)[1:]},
    where=sa.or_(*(shipments.c.state == state for state in _MAY_WAIT)),
).returning(shipments.c.shipment_id)


def write_decisions(conn: sa.Connection, decisions: Sequence[Timed]) -> None:
    released = [(d, now) for d, now in decisions if isinstance(d, ShipmentReleased)]
    reports = [(d, now) for d, now in decisions if isinstance(d, ShipmentUnroutable)]
    history = [history_of_release(d, now) for d, now in released]
    history += [history_of_report(d, now) for d, now in reports]
    along = not reports and len(history) < COPY_FROM  # then it may ride on the release
    if released and _write_released(conn, released, history if along else None):
        history = []  # written
    if reports:
        _write_reports(conn, reports)
    write_history(conn, history)


def _write_released(
    conn: sa.Connection,
    released: list[tuple[ShipmentReleased, datetime]],
    history: list[HistoryRow] | None,
) -> bool:
    """Writes the releases; returns whether ``history`` (if given) went in with them."""
    waited = [(d, now) for d, now in released if d.backordered_at is not None]
    if waited:
        states = [(d.parent.shipment_id, released_state(d, now)) for d, now in waited]
        params = {f"r_{name}": [state[name] for _, state in states] for name in _RELEASED_COLUMNS}
        params["r_lines"] = [json.dumps(state["lines"]) for _, state in states]
        params["r_shipment_id"] = [shipment_id for shipment_id, _ in states]
        releasing = _RELEASE_WAITING
        if history is not None:
            params |= insert_params(shipment_history, _HISTORY_COLUMNS, "h", history)
            releasing = _RELEASE_WAITING_WITH_HISTORY
        if len(conn.execute(releasing, params).all()) != len(states):
            raise ConcurrentRelease(", ".join(d.parent.shipment_id for d, _ in waited))
    arrived = [(d, now) for d, now in released if d.backordered_at is None]
    if arrived:
        rows = [{**shipment_values(d.parent), **released_state(d, now)} for d, now in arrived]
        statement = insert(shipments).on_conflict_do_nothing(
            index_elements=[shipments.c.shipment_id]
        )
        inserted = conn.execute(statement.returning(shipments.c.shipment_id), rows).all()
        if len(inserted) != len(rows):
            raise ConcurrentRelease(", ".join(d.parent.shipment_id for d, _ in arrived))
    children = [
        child_row(d, child, now)
        for d, now in released
        for child in d.shipments
        if child.shipment_id != d.parent.shipment_id
    ]
    if children:
        conn.execute(sa.insert(shipments), children)
    split_offs = [split_off_row(d, now) for d, now in released if d.split_off is not None]
    if split_offs:
        statement = insert(shipments).on_conflict_do_nothing(
            index_elements=[shipments.c.shipment_id]
        )
        conn.execute(statement, split_offs)
    # one guarded update for every draw of the flush; the ledger keeps each draw's time
    apply_draws(conn, [(draw, to, at) for d, at in released for draw, to in _receivers(d)])
    return bool(waited) and history is not None


def _write_reports(conn: sa.Connection, reports: list[tuple[ShipmentUnroutable, datetime]]) -> None:
    # one row per shipment per statement: the latest report wins
    latest = {d.shipment.shipment_id: (d, now) for d, now in reports}
    rows = [unroutable_values(d, now) for d, now in latest.values()]
    if set(rows[0]) != set(_REPORT_COLUMNS):
        raise AssertionError(f"report columns {sorted(rows[0])} are not the upsert's")
    written = conn.execute(_UPSERT_REPORTS, {"reports": json_rows(rows)}).all()
    if len(written) != len(rows):
        missing = set(latest) - {row.shipment_id for row in written}
        raise ConcurrentRelease(", ".join(sorted(missing)))
    waiting = [d for d, _ in latest.values() if d.state is WaitState.WAITING]
    enter_waiting_room(conn, [(d.shipment, d.candidate.entered_at) for d in waiting])
    leave_waiting_room(conn, [s for s, (d, _) in latest.items() if d.state is WaitState.UNROUTABLE])


def _receivers(decision: ShipmentReleased) -> list[tuple[Draw, str]]:
    return [(draw, receiver_of(decision, draw)) for draw in decision.draws]
