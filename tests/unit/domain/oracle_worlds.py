"""Small random worlds for comparing the core with the oracle (issue 11).

Up to 4 locations, 4 SKUs, 3 supplies and one shipment of up to 6 lines with bundles,
STH or BOPIS, split or not; stock is small, so that plans are tight and bundles, splits,
ranks and the date limit matter. A world is built from one seed with ``random.Random``:
hypothesis then draws one integer per example instead of some hundred values, which is
what lets 10,000 examples run in seconds. The price is shrinking: a failure shows the
seed and the whole world (``note``), not a minimal one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from random import Random

from hypothesis import strategies as st

from backorder_worker.domain.inventory import Supply
from backorder_worker.domain.model import (
    Catalog,
    FulfillmentType,
    Line,
    Listing,
    Location,
    OutOfStockBehaviour,
    ReleasePolicy,
    Shipment,
)

from .builders import TODAY

LOCATIONS = ("L0", "L1", "L2", "L3")
SKUS = ("K0", "K1", "K2", "K3")
STH, BOPIS = FulfillmentType.STH, FulfillmentType.BOPIS
BEHAVIOURS = (OutOfStockBehaviour.BACKORDER,) * 3 + (
    OutOfStockBehaviour.PREORDER,
    OutOfStockBehaviour.NONE,
)


@dataclass(frozen=True)
class SmallWorld:
    catalog: Catalog
    current: dict[tuple[str, str], int]
    supplies: list[Supply]
    shipment: Shipment
    policy: ReleasePolicy


def _location(rng: Random, location_id: str) -> Location:
    types = rng.choice([{STH, BOPIS}, {STH, BOPIS}, {STH, BOPIS}, {STH}, {BOPIS}])
    return Location(location_id, rng.random() > 0.1, frozenset(types), rng.randint(0, 2))


def _listing(rng: Random, sku: str, location_id: str | None) -> Listing:
    behaviour = rng.choice(BEHAVIOURS)
    future = rng.random() > 0.25
    return Listing(sku, behaviour, future, location_id)


def small_world(rng: Random) -> SmallWorld:
    locs = sorted(rng.sample(LOCATIONS, rng.randint(1, 4)))
    skus = SKUS[: rng.randint(1, 4)]
    listed: dict[tuple[str, str | None], Listing] = {}
    for sku in skus:
        if rng.random() > 0.1:
            listed[(sku, None)] = _listing(rng, sku, None)
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        sku, loc = rng.choice(skus), rng.choice(LOCATIONS)
        listed[(sku, loc)] = _listing(rng, sku, loc)
    density = rng.uniform(0.4, 1.0)
    current = {  # stock at a location the catalog does not know is never used
        (loc, sku): rng.randint(1, 5)
        for loc in LOCATIONS
        for sku in skus
        if rng.random() < (density if loc in locs else 0.1)
    }
    supplies = []
    for number in range(rng.choice([0, 0, 1, 2, 3])):
        quantity = rng.randint(1, 4)
        supplies.append(
            Supply(
                f"PO-{number}",
                rng.choice(locs),
                rng.choice(skus),
                quantity,
                TODAY + timedelta(days=rng.randint(-2, 40)),
                promised=rng.choice([0, 0, 0, 1]) if quantity > 1 else 0,
            )
        )
    bundles = rng.choice([(None,), (None, None, "B1"), (None, "B1", "B2")])
    lines = tuple(
        Line(f"S-{i}", rng.choice(skus), rng.choice([1, 1, 2, 3]), rng.choice(bundles))
        for i in range(rng.randint(1, 6))
    )
    bopis = rng.random() < 0.25
    shipment = Shipment(
        "S",
        "O",
        BOPIS if bopis else STH,
        lines,
        pickup_location_id=rng.choice([*locs, *locs, *LOCATIONS]) if bopis else None,
        split_allowed=rng.choice([True, True, False, None]),
    )
    policy = ReleasePolicy(
        future_inventory_enabled=rng.random() > 0.2,
        future_date_limit_days=rng.choice([30, 30, 0, 10, 45]),
        split_allowed=rng.random() > 0.3,
    )
    catalog = Catalog({loc: _location(rng, loc) for loc in locs}, listed)
    return SmallWorld(catalog, current, supplies, shipment, policy)


small_worlds = st.integers(0, 2**64 - 1).map(lambda seed: small_world(Random(seed)))
