"""Small generated worlds: a catalog, shipments that wait, and stock that releases them.

Kept small on purpose (tens of shipments, a few hundred stock events): the faults are the
point, and every test must end in the checker within seconds on two cores. Everything is
STH over a few locations, SKU-wide BACKORDER listings, no bundles and no future supply,
which is what the checker's "nothing left releasable" (I3) models.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tests.e2e.support import Event

FAST_BATCHES = {"BACKORDER_KAFKA__MAX_POLL_RECORDS": "5"}
"""Worker environment for many small batches: a fault lands mid-stream, not at its end."""


@dataclass(frozen=True)
class Scenario:
    catalog: list[Event]
    shipments: list[Event]
    stock: list[Event]


def catalog(skus: list[str], locations: list[str]) -> list[Event]:
    events: list[Event] = [
        (
            "location.updated",
            {"location_id": loc, "active": True, "fulfillment_types": ["STH"], "rank": rank},
        )
        for rank, loc in enumerate(locations)
    ]
    events += [("listing.updated", {"sku": s, "out_of_stock_behaviour": "BACKORDER"}) for s in skus]
    return events


def scenario(
    *,
    seed: int,
    shipments: int = 30,
    stows: int = 150,
    skus: int = 5,
    locations: int = 2,
    max_lines: int = 2,
    prefix: str = "S",
    unit: bool = False,
) -> Scenario:
    """Shipments of 1..`max_lines` lines over `skus` SKUs, then `stows` stock.stowed events
    of 1-3 units at random locations: roughly twice what the shipments need, so most are
    released and some stock is left over. With `unit`, every quantity is 1: while
    shipments wait, each stock event releases one (every batch has outputs)."""
    rnd = random.Random(seed)
    most = 1 if unit else 3
    sku_ids = [f"K{i}" for i in range(skus)]
    location_ids = [f"L{i}" for i in range(1, locations + 1)]
    orders: list[Event] = []
    for n in range(shipments):
        chosen = rnd.sample(sku_ids, rnd.randint(1, max_lines))
        lines = [
            {"line_id": f"{prefix}-{n}-{i}", "sku": sku, "quantity": rnd.randint(1, most)}
            for i, sku in enumerate(chosen)
        ]
        orders.append(
            (
                "shipment.created",
                {
                    "shipment_id": f"{prefix}-{n}",
                    "order_id": f"O-{prefix}-{n}",
                    "fulfillment_type": "STH",
                    "lines": lines,
                },
            )
        )
    stock: list[Event] = [
        (
            "stock.stowed",
            {
                "location_id": rnd.choice(location_ids),
                "sku": rnd.choice(sku_ids),
                "quantity": rnd.randint(1, most),
            },
        )
        for _ in range(stows)
    ]
    return Scenario(catalog(sku_ids, location_ids), orders, stock)
