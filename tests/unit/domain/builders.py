"""Small builders so that the domain tests read like the seed examples."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
from backorder_worker.domain.outcomes import (
    Decision,
    ShipmentReleased,
    ShipmentUnroutable,
    Trigger,
    WaitState,
)
from backorder_worker.domain.release import Floors
from tests.rounds import decide_round

BACKORDERED_AT = datetime(2026, 4, 20, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 4, 25, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
TRIGGER = Trigger("evt-1", "stock.stowed")


def day(month: int, dom: int) -> date:
    return date(2026, month, dom)


def catalog(
    locations: Iterable[str | Location] = ("A", "B"),
    backorder: Iterable[str] = ("KTP", "KTP2", "KTP3"),
    not_backorderable: Iterable[str] = (),
    listings: Iterable[Listing] = (),
) -> Catalog:
    locs = [loc if isinstance(loc, Location) else Location(loc) for loc in locations]
    by_key: dict[tuple[str, str | None], Listing] = {}
    for sku in backorder:
        by_key[(sku, None)] = Listing(sku, OutOfStockBehaviour.BACKORDER)
    for sku in not_backorderable:
        by_key[(sku, None)] = Listing(sku, OutOfStockBehaviour.NONE)
    for listing in listings:
        by_key[(listing.sku, listing.location_id)] = listing
    return Catalog({loc.location_id: loc for loc in locs}, by_key)


def line(sku: str, quantity: int, line_id: str | None = None, bundle: str | None = None) -> Line:
    return Line(line_id or sku, sku, quantity, bundle)


def shipment(
    shipment_id: str,
    *lines: Line,
    bopis_at: str | None = None,
    priority: int = 0,
    split: bool | None = None,
    backorder_days: int | None = None,
) -> Shipment:
    return Shipment(
        shipment_id=shipment_id,
        order_id=f"O-{shipment_id}",
        fulfillment_type=FulfillmentType.BOPIS if bopis_at else FulfillmentType.STH,
        lines=tuple(
            Line(f"{shipment_id}-{i}", ln.sku, ln.quantity, ln.bundle_id)
            if ln.line_id == ln.sku
            else ln
            for i, ln in enumerate(lines, start=1)
        ),
        pickup_location_id=bopis_at,
        priority=priority,
        split_allowed=split,
        backorder_days=backorder_days,
    )


def waiting(s: Shipment, at: datetime = BACKORDERED_AT) -> Candidate:
    return Candidate(s, at, Origin.WAITING, backordered_at=at)


def arriving(s: Shipment, at: datetime = NOW) -> Candidate:
    return Candidate(s, at, Origin.INTAKE)


def supply(
    supply_id: str, location: str, sku: str, quantity: int, expected: date, promised: int = 0
) -> Supply:
    return Supply(supply_id, location, sku, quantity, expected, promised)


def decide(
    candidates: Sequence[Candidate],
    cat: Catalog | None = None,
    current: Mapping[tuple[str, str], int] | None = None,
    supplies: Iterable[Supply] = (),
    policy: ReleasePolicy | None = None,
    now: datetime = NOW,
    floors: Floors | None = None,
) -> list[Decision]:
    cat, policy = cat or catalog(), policy or ReleasePolicy()
    pool = pool_for(current or {}, supplies, cat, policy, now)
    return decide_round(candidates, cat, policy, pool, now, TRIGGER, floors)


def released(decisions: Sequence[Decision]) -> dict[str, ShipmentReleased]:
    return {d.parent.shipment_id: d for d in decisions if isinstance(d, ShipmentReleased)}


def unroutable(
    decisions: Sequence[Decision], state: WaitState | None = None
) -> dict[str, ShipmentUnroutable]:
    return {
        d.shipment.shipment_id: d
        for d in decisions
        if isinstance(d, ShipmentUnroutable) and (state is None or d.state is state)
    }


def future_usable(policy: ReleasePolicy, now: datetime = NOW) -> date:
    return now.date() + timedelta(days=policy.future_date_limit_days)
