"""Shipment rows, their history, and the waiting room's SKU index (``waiting_skus``).

A shipment is WAITING exactly when it has ``waiting_skus`` rows: entering the room writes
them (with the release-order key), leaving it deletes them, in the same transaction as the
state change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backorder_worker.adapters.postgres.rows import lines_json, record_from_row, text_array
from backorder_worker.adapters.postgres.tables import shipment_history, shipments, waiting_skus
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


def add_history(
    conn: sa.Connection,
    shipment_id: str,
    at: datetime,
    trigger: Trigger,
    state: ShipmentState,
    detail: dict[str, Any],
) -> None:
    conn.execute(
        sa.insert(shipment_history).values(
            shipment_id=shipment_id,
            at=at,
            event_id=trigger.event_id,
            event_type=trigger.event_type,
            state=state.value,
            detail=detail,
        )
    )


def leave_waiting_room(conn: sa.Connection, shipment_id: str) -> None:
    conn.execute(sa.delete(waiting_skus).where(waiting_skus.c.shipment_id == shipment_id))


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
    leave_waiting_room(conn, shipment_id)
    add_history(
        conn,
        shipment_id,
        now,
        trigger,
        ShipmentState.CANCELLED,
        {"outcome": "cancelled", "previous_state": before.state.value}
        | ({} if output_event_id is None else {"output_event_id": output_event_id}),
    )
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
