"""One handler per command: the use cases of the worker.

``handle`` is the only entry: it claims the event id in the inbox first (an id seen
before has no second effect), then runs the command's handler inside the caller's
transaction. A handler returns an outcome; it raises only for faults (transient or bugs).
A business "no" — a shipment that still waits — is a decision, not an exception; input
that refers to what the worker does not know is ``Rejected`` and goes to the dead letters.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.service_layer import (
    cancels,
    catalog_handlers,
    shipment_handlers,
    short_picks,
    stock_handlers,
)
from backorder_worker.service_layer.commands import (
    AnnounceSupply,
    CancelShipment,
    CreateShipment,
    Envelope,
    ReportShortPick,
    SetStockLevel,
    StowStock,
    UpdateListing,
    UpdateLocation,
)
from backorder_worker.service_layer.ports import Claim, Store
from backorder_worker.service_layer.results import Context, Duplicate, Outcome, Rejected

Handler = Callable[[Any, Context], Outcome]

HANDLERS: dict[type, Handler] = {
    StowStock: stock_handlers.stow_stock,
    SetStockLevel: stock_handlers.set_stock_level,
    AnnounceSupply: stock_handlers.announce_supply,
    UpdateListing: catalog_handlers.update_listing,
    UpdateLocation: catalog_handlers.update_location,
    CreateShipment: shipment_handlers.create_shipment,
    ReportShortPick: short_picks.report_short_pick,
    CancelShipment: cancels.cancel_shipment,
}


def handle(envelope: Envelope, store: Store, policy: ReleasePolicy, now: datetime) -> Outcome:
    claim = store.claim_event(envelope.event_id, envelope.event_type, envelope.digest)
    if claim is Claim.DUPLICATE:
        return Duplicate()
    if claim is Claim.CONFLICT:
        return Rejected(
            "conflict", f"event id {envelope.event_id} was applied before with other content"
        )
    handler = HANDLERS[type(envelope.command)]
    outcome = handler(envelope.command, Context(store, policy, now, envelope))
    if isinstance(outcome, Rejected):
        # A rejected event has had no effect; forget it, so that it applies when it is
        # replayed after the fix (from the dead letters).
        store.release_claim(envelope.event_id)
    return outcome
