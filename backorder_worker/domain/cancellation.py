"""Cancelling the remainders the worker created from a cancelled shipment (R11).

A split-off (R8) or a short-pick remainder has an id the OMS may never have seen, so it
cannot be cancelled by name: it goes with the shipment it came from. It is reported as a
``shipment.unroutable`` whose state is UNROUTABLE (not retried, out of the waiting room)
and whose one reason names the cancelled shipment, so the OMS learns it will never ship.
"""

from __future__ import annotations

from backorder_worker.domain import ids
from backorder_worker.domain.fences import Fence, Reason
from backorder_worker.domain.model import Candidate, FenceMode
from backorder_worker.domain.outcomes import ShipmentUnroutable, Trigger, WaitState


def decide_cancelled_with(
    remainder: Candidate, cancelled_id: str, trigger: Trigger
) -> ShipmentUnroutable:
    """The report of a remainder cancelled because ``cancelled_id`` was."""
    shipment_id = remainder.shipment.shipment_id
    return ShipmentUnroutable(
        event_id=ids.unroutable_event_id(shipment_id, trigger.event_id),
        candidate=remainder,
        state=WaitState.UNROUTABLE,
        reasons=(
            Reason(Fence.PARENT_CANCELLED, FenceMode.STATIC, f"cancelled with {cancelled_id}"),
        ),
        expected_release_by=None,
        overdue=False,
        trigger=trigger,
    )
