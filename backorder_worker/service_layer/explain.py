"""A live answer to "why does this shipment still wait?", computed now, written nowhere.

The reasons stored with a waiting shipment are those of its last evaluation; a stock event
that could not help it does not evaluate it again. ``explain`` runs the core over the
shipment alone against the stock there is now, as if it were first in line (shipments
ahead of it may claim the same stock first), and returns the decision without recording it.
"""

from __future__ import annotations

from datetime import datetime

from backorder_worker.domain.future_supply import pool_for
from backorder_worker.domain.model import Candidate, Catalog, Origin, ReleasePolicy
from backorder_worker.domain.outcomes import Decision, Trigger
from backorder_worker.domain.release import ReleaseRound
from backorder_worker.service_layer.ports import ShipmentState, Store

LIVE_CHECK = Trigger("live-check", "waiting")


def explain(store: Store, policy: ReleasePolicy, now: datetime, shipment_id: str) -> list[Decision]:
    """What evaluating a waiting shipment now would decide; empty when it is not waiting."""
    record = store.shipment(shipment_id)
    if record is None or record.state is not ShipmentState.WAITING or record.entered_at is None:
        return []
    shipment = record.shipment
    candidate = Candidate(shipment, record.entered_at, Origin.WAITING, record.backordered_at)
    catalog = Catalog(store.locations(), store.listings(shipment.skus))
    current, supplies = store.current_stock(shipment.skus), store.supplies(shipment.skus)
    pool = pool_for(current, supplies, catalog, policy, now)
    return ReleaseRound(catalog, policy, pool, now, LIVE_CHECK).decide(candidate)
