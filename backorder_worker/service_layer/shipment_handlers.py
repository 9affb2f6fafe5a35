"""Shipment intake (R2, R8). Short picks are in ``short_picks``, cancels in ``cancels``."""

from __future__ import annotations

from backorder_worker.domain.model import Candidate, Origin, Shipment
from backorder_worker.service_layer.commands import CreateShipment
from backorder_worker.service_layer.results import Applied, Context, Outcome, Rejected
from backorder_worker.service_layer.rounds import Scope, run_round


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
    return route_intake(ctx, shipment)


def route_intake(ctx: Context, shipment: Shipment) -> Applied:
    """Intake: with skip allowed nobody waiting can claim this stock first (I3 held), so
    only the new shipment is decided; with skip off the waiting ones hold theirs."""
    candidate = Candidate(shipment, ctx.envelope.time, Origin.INTAKE)
    scope = Scope.nothing() if ctx.policy.allow_skip else Scope.of(shipment.skus)
    trigger = ctx.envelope.trigger
    decisions = run_round(ctx.store, ctx.policy, ctx.now, trigger, scope, intake=[candidate])
    return Applied(decisions)
