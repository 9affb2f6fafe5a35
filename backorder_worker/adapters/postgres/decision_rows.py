"""The rows a decision writes, as column dicts: the released parent's new state, its
children, the split-off, a report's upsert values, and the history rows behind
``waiting``. No statements here.

``decision_writes.py`` writes them, many decisions at a time, with the guards that make a
release happen at most once (I2) and never oversell (I1).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backorder_worker.adapters.postgres.history import HistoryRow, history_row
from backorder_worker.adapters.postgres.rows import lines_json, reasons_json, shipment_values
from backorder_worker.domain.inventory import Draw
from backorder_worker.domain.model import Line, Shipment
from backorder_worker.domain.outcomes import (
    Decision,
    ReleasedShipment,
    ShipmentReleased,
    ShipmentStatus,
    ShipmentUnroutable,
    WaitState,
)
from backorder_worker.service_layer.ports import ShipmentState


def released_state(decision: ShipmentReleased, now: datetime) -> dict[str, Any]:
    """The parent's columns after its release (it keeps its id when it is the one READY)."""
    parent = decision.parent
    own = next((s for s in decision.shipments if s.shipment_id == parent.shipment_id), None)
    return {
        "state": decision.parent_status.value,
        "location_id": None if own is None else own.location_id,
        "expected_date": None if own is None else own.expected_date,
        "lines": lines_json(parent.lines if own is None else _lines(parent, own)),
        "backordered_at": decision.backordered_at,
        "updated_at": now,
    }


def child_row(decision: ShipmentReleased, child: ReleasedShipment, now: datetime) -> dict[str, Any]:
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


def split_off_row(decision: ShipmentReleased, now: datetime) -> dict[str, Any]:
    """The remainder enters the waiting room with its parent's link; the report that
    follows it in the round adds its reasons."""
    assert decision.split_off is not None
    split_off = decision.split_off
    return {
        **shipment_values(split_off.shipment),
        "state": ShipmentState.WAITING.value,
        "parent_id": decision.parent.shipment_id,
        "entered_at": split_off.entered_at,
        "backordered_at": split_off.backordered_at or split_off.entered_at,
        "updated_at": now,
    }


def unroutable_values(decision: ShipmentUnroutable, now: datetime) -> dict[str, Any]:
    candidate = decision.candidate
    waits = decision.state is WaitState.WAITING
    return {
        **shipment_values(decision.shipment),
        "state": (ShipmentState.WAITING if waits else ShipmentState.UNROUTABLE).value,
        "entered_at": candidate.entered_at,
        "backordered_at": candidate.backordered_at or candidate.entered_at,
        "expected_release_by": decision.expected_release_by,
        "overdue": decision.overdue,
        "reasons": reasons_json(decision.reasons),
        "updated_at": now,
    }


def history_of_release(decision: ShipmentReleased, now: datetime) -> HistoryRow:
    """What the ``waiting`` command shows of a release."""
    return history_row(
        decision.parent.shipment_id,
        now,
        decision.trigger,
        ShipmentState(decision.parent_status.value),
        {
            "outcome": "released",
            "output_event_id": decision.event_id,
            "release": decision.release.value,
            "shipments": [
                {
                    "shipment_id": s.shipment_id,
                    "status": s.status.value,
                    "location_id": s.location_id,
                    "expected_date": None
                    if s.expected_date is None
                    else s.expected_date.isoformat(),
                }
                for s in decision.shipments
            ],
            "short_line_ids": [line.line_id for line in decision.short_lines],
            "split_off_shipment_id": (
                None if decision.split_off is None else decision.split_off.shipment.shipment_id
            ),
        },
    )


def history_of_report(decision: ShipmentUnroutable, now: datetime) -> HistoryRow:
    waits = decision.state is WaitState.WAITING
    state = ShipmentState.WAITING if waits else ShipmentState.UNROUTABLE
    due = decision.expected_release_by
    return history_row(
        decision.shipment.shipment_id,
        now,
        decision.trigger,
        state,
        {
            "outcome": state.value.lower(),
            "output_event_id": decision.event_id,
            "reasons": reasons_json(decision.reasons),
            "expected_release_by": None if due is None else due.isoformat(),
            "overdue": decision.overdue,
        },
    )


def receiver_of(decision: ShipmentReleased, draw: Draw) -> str:
    """The released shipment a draw went to: one per (kind of stock, location)."""
    status = ShipmentStatus.READY if draw.supply_id is None else ShipmentStatus.FUTURE
    for shipment in decision.shipments:
        if shipment.status is status and shipment.location_id == draw.location_id:
            return shipment.shipment_id
    return decision.parent.shipment_id


def _lines(parent: Shipment, released: ReleasedShipment) -> list[Line]:
    bundles = {line.line_id: line.bundle_id for line in parent.lines}
    return [
        Line(line.line_id, line.sku, line.quantity, bundles.get(line.line_id))
        for line in released.lines
    ]


def rows_written(decision: Decision) -> set[str]:
    """The ids of the shipment rows a decision writes."""
    if isinstance(decision, ShipmentUnroutable):
        return {decision.shipment.shipment_id}
    written = {decision.parent.shipment_id, *(s.shipment_id for s in decision.shipments)}
    if decision.split_off is not None:
        written.add(decision.split_off.shipment.shipment_id)
    return written
