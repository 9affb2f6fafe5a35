"""Shipment events: intake (R2, R8), short picks (R8) and cancellation (R11)."""

from __future__ import annotations

from backorder_worker.domain import ids
from backorder_worker.domain.model import Candidate, Line, Origin, Shipment
from backorder_worker.service_layer.commands import (
    CancelShipment,
    CreateShipment,
    ReportShortPick,
)
from backorder_worker.service_layer.ports import ShipmentState
from backorder_worker.service_layer.results import Applied, Context, Outcome, Rejected
from backorder_worker.service_layer.rounds import Scope, run_round

RELEASED = {ShipmentState.READY, ShipmentState.FUTURE}


def create_shipment(cmd: CreateShipment, ctx: Context) -> Outcome:
    if ctx.store.shipment(cmd.shipment_id) is not None:
        return Rejected("shipment-exists", f"shipment {cmd.shipment_id} is already known")
    shipment = Shipment(
        shipment_id=cmd.shipment_id,
        order_id=cmd.order_id,
        fulfillment_type=cmd.fulfillment_type,
        lines=cmd.lines,
        pickup_location_id=cmd.pickup_location_id,
        priority=cmd.priority,
        split_allowed=cmd.split_allowed,
        backorder_days=cmd.backorder_days,
    )
    return _route(ctx, shipment)


def report_short_pick(cmd: ReportShortPick, ctx: Context) -> Outcome:
    """The picker found units missing: the position was wrong, and the rest is re-routed."""
    store = ctx.store
    record = store.shipment(cmd.shipment_id)
    if record is None:
        return Rejected("unknown-shipment", f"shipment {cmd.shipment_id} is not known")
    if record.state not in RELEASED:
        return Rejected(
            "invalid-state", f"shipment {cmd.shipment_id} is {record.state.value}, not released"
        )
    lines = {line.line_id: line for line in record.shipment.lines}
    remainder: list[Line] = []
    for picked in cmd.lines:
        line = lines.get(picked.line_id)
        if line is None or line.sku != picked.sku or picked.missing_quantity > line.quantity:
            return Rejected(
                "invalid-short-pick",
                f"line {picked.line_id} ({picked.sku} x{picked.missing_quantity}) "
                f"does not match shipment {cmd.shipment_id}",
            )
        remainder.append(Line(line.line_id, line.sku, picked.missing_quantity, line.bundle_id))
    store.lock_skus(line.sku for line in remainder)
    for line in remainder:  # the picker saw none left: the count there was wrong
        store.set_free_stock(cmd.location_id, line.sku, 0)
    number = store.count_short_pick(cmd.shipment_id)
    parent = record.shipment
    shipment = Shipment(
        shipment_id=ids.short_pick_remainder_id(cmd.shipment_id, number),
        order_id=parent.order_id,
        fulfillment_type=parent.fulfillment_type,
        lines=tuple(remainder),
        pickup_location_id=parent.pickup_location_id,
        priority=parent.priority,
        split_allowed=parent.split_allowed,
        backorder_days=parent.backorder_days,
    )
    return _route(ctx, shipment)


def cancel_shipment(cmd: CancelShipment, ctx: Context) -> Outcome:
    before = ctx.store.cancel(cmd.shipment_id, ctx.envelope.trigger, ctx.now)
    if before is None:
        return Rejected("unknown-shipment", f"shipment {cmd.shipment_id} is not known")
    if before.state is not ShipmentState.WAITING:
        return Applied(note=f"shipment was {before.state.value}; nothing to take back")
    return Applied()


def _route(ctx: Context, shipment: Shipment) -> Outcome:
    """Intake: with skip allowed nobody waiting can claim this stock first (I3 held), so
    only the new shipment is decided; with skip off the waiting ones hold theirs."""
    candidate = Candidate(shipment, ctx.envelope.time, Origin.INTAKE)
    scope = Scope.nothing() if ctx.policy.allow_skip else Scope.of(shipment.skus)
    trigger = ctx.envelope.trigger
    decisions = run_round(ctx.store, ctx.policy, ctx.now, trigger, scope, intake=[candidate])
    return Applied(decisions)
