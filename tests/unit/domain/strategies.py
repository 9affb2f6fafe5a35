"""Hypothesis strategies for random catalogs, stock, supplies, shipments and policies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hypothesis import strategies as st

from backorder_worker.domain.inventory import Supply
from backorder_worker.domain.model import (
    Candidate,
    Catalog,
    FenceMode,
    FulfillmentType,
    Line,
    Listing,
    Location,
    Origin,
    OutOfStockBehaviour,
    PartialRelease,
    ReleaseOrder,
    ReleasePolicy,
    Shipment,
)

from .builders import BACKORDERED_AT, TODAY

LOCATIONS = ["L0", "L1", "L2"]
SKUS = ["K0", "K1", "K2", "K3"]


@dataclass(frozen=True)
class World:
    catalog: Catalog
    current: dict[tuple[str, str], int]
    supplies: list[Supply]
    candidates: list[Candidate]
    policy: ReleasePolicy


locations = st.builds(
    Location,
    location_id=st.sampled_from(LOCATIONS),
    active=st.booleans().map(lambda b: b or True) | st.just(False),
    fulfillment_types=st.sampled_from(
        [frozenset(FulfillmentType), frozenset({FulfillmentType.STH})]
    ),
    rank=st.integers(0, 2),
)

listings = st.builds(
    Listing,
    sku=st.sampled_from(SKUS),
    out_of_stock_behaviour=st.sampled_from(list(OutOfStockBehaviour)),
    future_inventory_enabled=st.booleans(),
    location_id=st.none() | st.sampled_from(LOCATIONS),
)


@st.composite
def supplies(draw: st.DrawFn, number: int) -> Supply:
    quantity = draw(st.integers(1, 6))
    return Supply(
        supply_id=f"PO-{number}",
        location_id=draw(st.sampled_from(LOCATIONS)),
        sku=draw(st.sampled_from(SKUS)),
        quantity=quantity,
        expected_date=TODAY + timedelta(days=draw(st.integers(-2, 40))),
        promised=draw(st.integers(0, quantity)),
    )


@st.composite
def shipments(draw: st.DrawFn, number: int) -> Candidate:
    lines = tuple(
        Line(
            f"S{number}-{i}",
            draw(st.sampled_from(SKUS)),
            draw(st.integers(1, 4)),
            draw(st.none() | st.just("BND")),
        )
        for i in range(draw(st.integers(1, 3)))
    )
    bopis = draw(st.booleans())
    shipment = Shipment(
        shipment_id=f"S{number}",
        order_id=f"O{number}",
        fulfillment_type=FulfillmentType.BOPIS if bopis else FulfillmentType.STH,
        lines=lines,
        pickup_location_id=draw(st.sampled_from(LOCATIONS)) if bopis else None,
        priority=draw(st.integers(0, 2)),
        split_allowed=draw(st.none() | st.booleans()),
    )
    entered = BACKORDERED_AT + timedelta(minutes=draw(st.integers(0, 5)))
    origin = draw(st.sampled_from(list(Origin)))
    backordered = entered if origin is Origin.WAITING else None
    return Candidate(shipment, entered, origin, backordered)


policies = st.builds(
    ReleasePolicy,
    future_inventory_enabled=st.booleans(),
    future_date_limit_days=st.integers(0, 45),
    split_allowed=st.booleans(),
    partial_release=st.sampled_from(list(PartialRelease)),
    release_order=st.sampled_from(list(ReleaseOrder)),
    allow_skip=st.booleans(),
    complete_stock_mode=st.sampled_from([FenceMode.REACTIVE] * 3 + [FenceMode.STATIC]),
    void_and_reauth_on_release=st.booleans(),
)


@st.composite
def worlds(draw: st.DrawFn, policy: st.SearchStrategy[ReleasePolicy] = policies) -> World:
    locs = {loc.location_id: loc for loc in draw(st.lists(locations, min_size=1, max_size=4))}
    listed = {(lst.sku, lst.location_id): lst for lst in draw(st.lists(listings, max_size=8))}
    for sku in SKUS:  # most SKUs are listed everywhere and backorderable, as in real catalogs
        if draw(st.integers(0, 3)) > 0:
            listed.setdefault((sku, None), Listing(sku, OutOfStockBehaviour.BACKORDER))
    stock = draw(
        st.dictionaries(
            st.tuples(st.sampled_from(LOCATIONS), st.sampled_from(SKUS)), st.integers(0, 6)
        )
    )
    supply_list = [draw(supplies(i)) for i in range(draw(st.integers(0, 4)))]
    candidates = [draw(shipments(i)) for i in range(draw(st.integers(1, 8)))]
    return World(Catalog(locs, listed), stock, supply_list, candidates, draw(policy))
