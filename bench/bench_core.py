"""Decision-round throughput of the pure core (a benchmark, not a test).

One SKU, N waiting shipments (1-3 lines over a few SKUs), 50 locations, and one stock
event that releases about a tenth of them. Prints decisions/s for N = 1k, 10k, 20k and
the cost ratio 20k/1k per candidate: about 1 means linear, 20 would mean quadratic.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from backorder_worker.domain.inventory import StockPool
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
from backorder_worker.domain.outcomes import Trigger
from backorder_worker.domain.release import decide_round

NOW = datetime(2026, 5, 1, tzinfo=UTC)


def world(n: int, seed: int = 7) -> tuple[list[Candidate], Catalog, dict[tuple[str, str], int]]:
    rnd = random.Random(seed)
    skus = ["HOT"] + [f"K{i}" for i in range(20)]
    locations = {f"L{i:02d}": Location(f"L{i:02d}", rank=i % 5) for i in range(50)}
    listings = {(s, None): Listing(s, OutOfStockBehaviour.BACKORDER) for s in skus}
    candidates = []
    for i in range(n):
        lines = [Line(f"S{i}-0", "HOT", rnd.randint(1, 3))]
        lines += [Line(f"S{i}-{j}", rnd.choice(skus[1:]), 1) for j in range(1, rnd.randint(1, 3))]
        shipment = Shipment(f"S{i:06d}", f"O{i}", FulfillmentType.STH, tuple(lines))
        at = NOW - timedelta(minutes=n - i)
        candidates.append(Candidate(shipment, at, Origin.WAITING, at))
    stock = {(loc, s): rnd.randint(0, 2) for loc in locations for s in skus[1:]}
    stock.update({(loc, "HOT"): n // 250 for loc in locations})
    return candidates, Catalog(locations, listings), stock


def measure(n: int) -> tuple[float, int]:
    candidates, catalog, stock = world(n)
    started = time.perf_counter()
    decisions = decide_round(
        candidates, catalog, ReleasePolicy(), StockPool(stock), NOW, Trigger("e", "stock.stowed")
    )
    return time.perf_counter() - started, len(decisions)


def main() -> None:
    per_candidate = {}
    for n in (1_000, 10_000, 20_000):
        seconds, decided = measure(n)
        per_candidate[n] = seconds / n
        print(
            f"core: candidates={n} decisions={decided} seconds={seconds:.3f} "
            f"decisions_per_s={decided / seconds:,.0f}"
        )
    print(f"core: cost_per_candidate_20k_vs_1k={per_candidate[20_000] / per_candidate[1_000]:.2f}")


if __name__ == "__main__":
    main()
