"""Persisting a decision: the shipment rows, the stock it draws, its history row.

Released: the parent must still be WAITING (or unknown, at intake): the guarded UPDATE (or
INSERT … ON CONFLICT DO NOTHING) is what makes a release happen at most once (I2) when two
transactions race for one shipment; the loser gets ``ConcurrentRelease`` and retries.
Unroutable: an upsert that only overwrites a WAITING or UNROUTABLE row; a released or
cancelled shipment never goes back to waiting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from backorder_worker.adapters.postgres import shipments as rooms
from backorder_worker.adapters.postgres.rows import lines_json, reasons_json, shipment_values
from backorder_worker.adapters.postgres.stock import apply_draws
from backorder_worker.adapters.postgres.tables import shipments
from backorder_worker.domain.inventory import Draw
from backorder_worker.domain.model import Line, Shipment
from backorder_worker.domain.outcomes import (
    ReleasedShipment,
    ShipmentReleased,
    ShipmentStatus,
    ShipmentUnroutable,
    WaitState,
)
from backorder_worker.service_layer.ports import ConcurrentRelease, ShipmentState

_MAY_WAIT = (ShipmentState.WAITING.value, ShipmentState.UNROUTABLE.value)


def record_released(conn: sa.Connection, decision: ShipmentReleased, now: datetime) -> None:
    parent = decision.parent
    own = next((s for s in decision.shipments if s.shipment_id == parent.shipment_id), None)
    _leave_waiting(
        conn,
        parent,
        {
            "state": decision.parent_status.value,
            "location_id": None if own is None else own.location_id,
            "expected_date": None if own is None else own.expected_date,
            "lines": lines_json(parent.lines if own is None else _lines(parent, own)),
            "updated_at": now,
        },
        decision.backordered_at,
    )
    children = [_child_row(decision, child, now) for child in decision.shipments if child != own]
    if children:
        conn.execute(sa.insert(shipments).values(children))
    if decision.split_off is not None:
        _insert_split_off(conn, decision, now)
    apply_draws(conn, [(draw, _receiver(decision, draw)) for draw in decision.draws], now)
    status = ShipmentState(decision.parent_status.value)
    rooms.add_history(
        conn, parent.shipment_id, now, decision.trigger, status, _released_detail(decision)
    )


def record_unroutable(conn: sa.Connection, decision: ShipmentUnroutable, now: datetime) -> None:
    candidate, shipment = decision.candidate, decision.shipment
    waits = decision.state is WaitState.WAITING
    state = ShipmentState.WAITING if waits else ShipmentState.UNROUTABLE
    values = {
        **shipment_values(shipment),
        "state": state.value,
        "entered_at": candidate.entered_at,
        "backordered_at": candidate.backordered_at or candidate.entered_at,
        "expected_release_by": decision.expected_release_by,
        "overdue": decision.overdue,
        "reasons": reasons_json(decision.reasons),
        "updated_at": now,
    }
    statement = insert(shipments).values(values)
    upsert = statement.on_conflict_do_update(
        index_elements=[shipments.c.shipment_id],
        set_={name: statement.excluded[name] for name in values if name != "shipment_id"},
        where=shipments.c.state.in_(_MAY_WAIT),
    ).returning(shipments.c.shipment_id)
    if conn.execute(upsert).first() is None:
        raise ConcurrentRelease(shipment.shipment_id)
    if waits:
        rooms.enter_waiting_room(conn, shipment, candidate.entered_at)
    else:
        rooms.leave_waiting_room(conn, shipment.shipment_id)
    rooms.add_history(
        conn,
        shipment.shipment_id,
        now,
        decision.trigger,
        state,
        {
            "outcome": state.value.lower(),
            "output_event_id": decision.event_id,
            "reasons": values["reasons"],
            "expected_release_by": (
                None
                if decision.expected_release_by is None
                else decision.expected_release_by.isoformat()
            ),
            "overdue": decision.overdue,
        },
    )


def _leave_waiting(
    conn: sa.Connection, parent: Shipment, state: dict[str, Any], backordered_at: datetime | None
) -> None:
    """The waiting parent takes its new state; unknown (intake), it is inserted with it."""
    updated = conn.execute(
        sa.update(shipments)
        .where(
            shipments.c.shipment_id == parent.shipment_id,
            shipments.c.state == ShipmentState.WAITING.value,
        )
        .values(state)
        .returning(shipments.c.shipment_id)
    ).first()
    if updated is not None:
        rooms.leave_waiting_room(conn, parent.shipment_id)
        return
    inserted = conn.execute(
        insert(shipments)
        .values({**shipment_values(parent), **state, "backordered_at": backordered_at})
        .on_conflict_do_nothing(index_elements=[shipments.c.shipment_id])
        .returning(shipments.c.shipment_id)
    ).first()
    if inserted is None:
        raise ConcurrentRelease(parent.shipment_id)


def _insert_split_off(conn: sa.Connection, decision: ShipmentReleased, now: datetime) -> None:
    """The remainder enters the waiting room with its parent's link; the unroutable
    decision that follows it in the round adds its reasons."""
    assert decision.split_off is not None
    split_off = decision.split_off
    inserted = conn.execute(
        insert(shipments)
        .values(
            {
                **shipment_values(split_off.shipment),
                "state": ShipmentState.WAITING.value,
                "parent_id": decision.parent.shipment_id,
                "entered_at": split_off.entered_at,
                "backordered_at": split_off.backordered_at or split_off.entered_at,
                "updated_at": now,
            }
        )
        .on_conflict_do_nothing(index_elements=[shipments.c.shipment_id])
        .returning(shipments.c.shipment_id)
    ).first()
    if inserted is not None:
        rooms.enter_waiting_room(conn, split_off.shipment, split_off.entered_at)


def _child_row(
    decision: ShipmentReleased, child: ReleasedShipment, now: datetime
) -> dict[str, Any]:
    parent = decision.parent
    return {
        **shipment_values(parent),
        "shipment_id": child.shipment_id,
        "lines": lines_json(_lines(parent, child)),
        "state": child.status.value,
        "parent_id": parent.shipment_id,
        "location_id": child.location_id,
        "expected_date": child.expected_date,
        "backordered_at": decision.backordered_at,
        "updated_at": now,
    }


def _released_detail(decision: ShipmentReleased) -> dict[str, Any]:
    """What the ``waiting`` command shows of a release."""
    return {
        "outcome": "released",
        "output_event_id": decision.event_id,
        "release": decision.release.value,
        "shipments": [
            {
                "shipment_id": s.shipment_id,
                "status": s.status.value,
                "location_id": s.location_id,
                "expected_date": None if s.expected_date is None else s.expected_date.isoformat(),
            }
            for s in decision.shipments
        ],
        "short_line_ids": [line.line_id for line in decision.short_lines],
        "split_off_shipment_id": (
            None if decision.split_off is None else decision.split_off.shipment.shipment_id
        ),
    }


def _lines(parent: Shipment, released: ReleasedShipment) -> list[Line]:
    bundles = {line.line_id: line.bundle_id for line in parent.lines}
    return [
        Line(line.line_id, line.sku, line.quantity, bundles.get(line.line_id))
        for line in released.lines
    ]


def _receiver(decision: ShipmentReleased, draw: Draw) -> str:
    """The released shipment a draw went to: one per (kind of stock, location)."""
    status = ShipmentStatus.READY if draw.supply_id is None else ShipmentStatus.FUTURE
    for shipment in decision.shipments:
        if shipment.status is status and shipment.location_id == draw.location_id:
            return shipment.shipment_id
    return decision.parent.shipment_id
