"""Shipment rows, one at a time: read one, the ones linked to it, cancel it (out of the
waiting room, with a history row), and what a short pick changes on it.

Decisions write shipment rows in bulk (``decision_writes``); the waiting room's index is
``waiting_room``'s, the history rows ``history``'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from backorder_worker.adapters.postgres.history import history_row, write_history
from backorder_worker.adapters.postgres.rows import lines_json, record_from_row, text_array
from backorder_worker.adapters.postgres.tables import shipments
from backorder_worker.adapters.postgres.waiting_room import leave_waiting_room
from backorder_worker.domain.model import Line
from backorder_worker.domain.outcomes import Trigger
from backorder_worker.service_layer.ports import ShipmentRecord, ShipmentState


def get(
    conn: sa.Connection, shipment_id: str, *, for_update: bool = False
) -> ShipmentRecord | None:
    query = sa.select(shipments).where(shipments.c.shipment_id == shipment_id)
    row = conn.execute(query.with_for_update() if for_update else query).first()
    return None if row is None else record_from_row(row._mapping)


def existing(conn: sa.Connection, shipment_ids: Iterable[str]) -> set[str]:
    """Which of these shipments Postgres knows, in one statement."""
    query = sa.select(shipments.c.shipment_id).where(
        shipments.c.shipment_id == sa.any_(text_array(shipment_ids))
    )
    return set(conn.execute(query).scalars())


def cancel(
    conn: sa.Connection,
    shipment_id: str,
    trigger: Trigger,
    now: datetime,
    output_event_id: str | None = None,
) -> ShipmentRecord | None:
    """Cancels the shipment (unless it is already); ``output_event_id`` names the report
    of a remainder cancelled with its parent, in the history row."""
    before = get(conn, shipment_id, for_update=True)
    if before is None or before.state is ShipmentState.CANCELLED:
        return before
    conn.execute(
        sa.update(shipments)
        .where(shipments.c.shipment_id == shipment_id)
        .values(state=ShipmentState.CANCELLED.value, updated_at=now)
    )
    leave_waiting_room(conn, [shipment_id])
    detail = {"outcome": "cancelled", "previous_state": before.state.value}
    if output_event_id is not None:
        detail["output_event_id"] = output_event_id
    write_history(conn, [history_row(shipment_id, now, trigger, ShipmentState.CANCELLED, detail)])
    return before


def descendants(conn: sa.Connection, shipment_id: str) -> list[ShipmentRecord]:
    """Every shipment linked to this one through ``parent_id``, at any depth, by id; one
    recursive statement over the ``parent_id`` index."""
    tree = (
        sa.select(shipments.c.shipment_id)
        .where(shipments.c.parent_id == shipment_id)
        .cte("tree", recursive=True)
    )
    below = sa.select(shipments.c.shipment_id).join(
        tree, shipments.c.parent_id == tree.c.shipment_id
    )
    tree = tree.union(below)
    rows = conn.execute(
        sa.select(shipments)
        .where(shipments.c.shipment_id.in_(sa.select(tree.c.shipment_id)))
        .order_by(shipments.c.shipment_id)
    )
    return [record_from_row(row._mapping) for row in rows]


def link_remainder(conn: sa.Connection, remainder_id: str, parent_id: str) -> None:
    conn.execute(
        sa.update(shipments)
        .where(shipments.c.shipment_id == remainder_id)
        .values(parent_id=parent_id)
    )


def replace_lines(conn: sa.Connection, shipment_id: str, lines: list[Line]) -> None:
    conn.execute(
        sa.update(shipments)
        .where(shipments.c.shipment_id == shipment_id)
        .values(lines=lines_json(lines))
    )


def count_short_pick(conn: sa.Connection, shipment_id: str) -> int:
    count = conn.execute(
        sa.update(shipments)
        .where(shipments.c.shipment_id == shipment_id)
        .values(short_picks=shipments.c.short_picks + 1)
        .returning(shipments.c.short_picks)
    ).scalar_one_or_none()
    if count is None:
        raise LookupError(f"unknown shipment {shipment_id!r}")
    return int(count)
