"""A tiny world for the adapter tests: catalog, shipments, and decisions made by the core."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from backorder_worker.domain.future_supply import pool_for
from backorder_worker.domain.inventory import Supply
from backorder_worker.domain.model import (
    Candidate,
    Catalog,
    FulfillmentType,
    Line,
    Listing,
    Location,
    Origin,
    OutOfStockBehaviour,
    ReleasePolicy,
    Shipment,
)
from backorder_worker.domain.outcomes import Decision, ShipmentUnroutable, Trigger, WaitState
from backorder_worker.service_layer.ports import Store
from tests.rounds import decide_round

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CREATED = Trigger("evt-created", "shipment.created")
STOWED = Trigger("evt-stowed", "stock.stowed")


def shipment(shipment_id: str, *lines: tuple[str, int], priority: int = 0) -> Shipment:
    return Shipment(
        shipment_id=shipment_id,
        order_id=f"O-{shipment_id}",
        fulfillment_type=FulfillmentType.STH,
        lines=tuple(
            Line(f"{shipment_id}-{n}", sku, quantity) for n, (sku, quantity) in enumerate(lines, 1)
        ),
        priority=priority,
    )


def set_up_catalog(store: Store, skus: Iterable[str] = ("KTP", "KTP2")) -> None:
    for location_id in ("A", "B"):
        store.save_location(Location(location_id))
    for sku in skus:
        store.save_listing(Listing(sku, OutOfStockBehaviour.BACKORDER))


def supply(
    supply_id: str, location_id: str, sku: str, quantity: int, days: int = 5, promised: int = 0
) -> Supply:
    return Supply(
        supply_id, location_id, sku, quantity, NOW.date() + timedelta(days=days), promised
    )


def waiting(shipment: Shipment, entered_at: datetime, trigger: Trigger = CREATED) -> Decision:
    """The decision that puts a shipment in the waiting room, built by hand."""
    return ShipmentUnroutable(
        event_id=f"unroutable-{shipment.shipment_id}-{trigger.event_id}",
        candidate=Candidate(shipment, entered_at, Origin.INTAKE),
        state=WaitState.WAITING,
        reasons=(),
        expected_release_by=entered_at + timedelta(days=14),
        overdue=False,
        trigger=trigger,
    )


def decide(
    store: Store,
    candidates: Iterable[Candidate],
    trigger: Trigger = STOWED,
    policy: ReleasePolicy | None = None,
) -> list[Decision]:
    """What the core decides for these candidates on the stock and catalog in ``store``."""
    chosen = list(candidates)
    skus = {sku for c in chosen for sku in c.shipment.skus}
    catalog = Catalog(store.locations(), store.listings(skus))
    policy = policy or ReleasePolicy()
    pool = pool_for(store.current_stock(skus), store.supplies(skus), catalog, policy, NOW)
    return decide_round(chosen, catalog, policy, pool, NOW, trigger)


def day(offset: int) -> date:
    return NOW.date() + timedelta(days=offset)
