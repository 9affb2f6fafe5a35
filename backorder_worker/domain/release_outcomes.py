"""The events a decision round emits, built from its decisions (R8, R10, R11, R13).

``released`` turns the draws a round has taken for a shipment into ``ShipmentReleased``:
the child shipments per location and kind, the release kind, the parent's status, the
lines reported short, and the payment action. ``unroutable`` turns a shipment that stays
(or leaves) the waiting room into ``ShipmentUnroutable`` with every reason and its due
date. ``split_off`` is the remainder a partial release leaves waiting, under its own id.
They read the pool and never change it: taking the draws is the round's job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from backorder_worker.domain import ids
from backorder_worker.domain.fences import Eligibility
from backorder_worker.domain.inventory import StockPool
from backorder_worker.domain.model import Candidate, Catalog, Origin, ReleasePolicy, Shipment
from backorder_worker.domain.outcomes import (
    PaymentAction,
    ReleasedLine,
    ShipmentReleased,
    ShipmentUnroutable,
    Trigger,
    WaitState,
)
from backorder_worker.domain.route_plan import Assignment
from backorder_worker.domain.shaping import lines_of, shape_release
from backorder_worker.domain.stock_check import complete_stock_reasons


def missing_after(shipment: Shipment, part: Sequence[Assignment]) -> dict[str, int]:
    """Units of each line that ``part`` leaves unassigned (lines fully assigned left out)."""
    missing = {
        line.line_id: line.quantity
        - sum(a.draw.quantity for a in part if a.line_id == line.line_id)
        for line in shipment.lines
    }
    return {line_id: n for line_id, n in missing.items() if n > 0}


def split_off_candidate(candidate: Candidate, missing: Mapping[str, int]) -> Candidate:
    """The remainder of a partly released shipment, waiting under its own id (R3, R8)."""
    shipment = candidate.shipment
    entered = candidate.entered_at
    return Candidate(
        shipment=Shipment(
            shipment_id=ids.split_off_shipment_id(shipment.shipment_id),
            order_id=shipment.order_id,
            fulfillment_type=shipment.fulfillment_type,
            lines=lines_of(shipment, missing),
            pickup_location_id=shipment.pickup_location_id,
            priority=shipment.priority,
            split_allowed=shipment.split_allowed,
            backorder_days=shipment.backorder_days,
        ),
        entered_at=entered,
        origin=Origin.WAITING,
        backordered_at=candidate.backordered_at or entered,
    )


def released(
    candidate: Candidate,
    assignments: Sequence[Assignment],
    eligibility: Eligibility,
    short_lines: Mapping[str, int],
    policy: ReleasePolicy,
    now: datetime,
    trigger: Trigger,
    split_off: Candidate | None = None,
) -> ShipmentReleased:
    """The release of ``assignments`` (already taken from the pool); ``short_lines`` are
    reported short (an intake that cannot wait for them)."""
    parent = candidate.shipment
    shipments, kind, parent_status = shape_release(parent, assignments, eligibility.preference)
    return ShipmentReleased(
        event_id=ids.released_event_id(parent.shipment_id),
        parent=parent,
        release=kind,
        parent_status=parent_status,
        shipments=shipments,
        short_lines=tuple(
            ReleasedLine(line.line_id, line.sku, line.quantity)
            for line in lines_of(parent, short_lines)
        ),
        split_off=split_off,
        payment_action=(
            PaymentAction.VOID_AND_REAUTH
            if policy.void_and_reauth_on_release
            else PaymentAction.NONE
        ),
        backordered_at=candidate.backordered_at,
        released_at=now,
        trigger=trigger,
        draws=tuple(a.draw for a in assignments),
    )


def unroutable(
    candidate: Candidate,
    eligibility: Eligibility,
    missing: Mapping[str, int],
    state: WaitState,
    pool: StockPool,
    catalog: Catalog,
    policy: ReleasePolicy,
    now: datetime,
    trigger: Trigger,
) -> ShipmentUnroutable:
    """A shipment that waits (``WAITING``, with its due date) or leaves (``UNROUTABLE``),
    with the fence reasons and the complete-stock reasons for what is ``missing``."""
    shipment = candidate.shipment
    since = candidate.backordered_at or candidate.entered_at
    days = shipment.backorder_days
    due = since + timedelta(days=policy.default_backorder_days if days is None else days)
    return ShipmentUnroutable(
        event_id=ids.unroutable_event_id(shipment.shipment_id, trigger.event_id),
        candidate=candidate,
        state=state,
        reasons=eligibility.reasons
        + complete_stock_reasons(shipment, eligibility, missing, pool, catalog, policy),
        expected_release_by=due if state is WaitState.WAITING else None,
        overdue=state is WaitState.WAITING and now > due,
        trigger=trigger,
    )
