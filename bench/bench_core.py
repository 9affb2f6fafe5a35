"""Decision-round throughput of the pure core (a benchmark, not a test).

One SKU, N waiting shipments (1-3 lines over a few SKUs), 50 locations, and one stock
event that releases about a tenth of them. Prints decisions/s for N = 1k, 10k, 20k and
the cost ratio 20k/1k per candidate: about 1 means linear, 20 would mean quadratic.

Then the planner alone (``plan_shipment``, issue 11) and, on the same cases, the greedy
planner it replaced (``_greedy_plan``): typical shipments (1-5 lines over 50 locations,
each SKU at about 7 of them, so one location rarely holds everything and the search runs)
and worst-bound ones: 50 lines of 60 SKUs over 50 locations (more parts than the search
takes: the greedy plan stands), and 50 lines of 5 SKUs (5 pooled SKUs and 7 bundles: the search
runs, mostly to its node budget).
CPU milliseconds per shipment (process time: the machine is shared).
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from backorder_worker.domain.fences import StaticFences
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
from backorder_worker.domain.routing import _greedy_plan, plan_shipment
from tests.rounds import decide_round

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


def planner_cases(
    lines: tuple[int, int], n: int, density: float, sku_count: int = 60, seed: int = 11
) -> list[tuple]:  # type: ignore[type-arg]
    """``n`` shipments of ``lines`` lines (two in seven in pairs of a bundle) over 50
    locations; each location holds each SKU with probability ``density``."""
    rnd = random.Random(seed)
    skus = [f"K{i}" for i in range(sku_count)]
    locations = {f"L{i:02d}": Location(f"L{i:02d}", rank=i % 5) for i in range(50)}
    catalog = Catalog(
        locations, {(s, None): Listing(s, OutOfStockBehaviour.BACKORDER) for s in skus}
    )
    fences = StaticFences(catalog)
    cases = []
    for i in range(n):
        stock = {
            (loc, s): rnd.randint(1, 3) for loc in locations for s in skus if rnd.random() < density
        }
        count = rnd.randint(*lines)
        shipment = Shipment(
            f"P{i}",
            f"O{i}",
            FulfillmentType.STH,
            tuple(
                Line(
                    f"P{i}-{j}",
                    rnd.choice(skus),
                    rnd.randint(1, 3),
                    _bundle(j),
                )
                for j in range(count)
            ),
        )
        cases.append((shipment, fences.evaluate(shipment), StockPool(stock)))
    return cases


def _bundle(j: int) -> str | None:
    return f"B{j // 7}" if j % 7 >= 5 else None


def measure_planner(
    name: str, lines: tuple[int, int], n: int, density: float, sku_count: int = 60
) -> None:
    """The exact planner and, on the same cases, the greedy one it replaced."""
    cases = planner_cases(lines, n, density, sku_count)
    for label, planner in (("plan_shipment", plan_shipment), ("greedy_before", _greedy_plan)):
        complete = groups = 0
        worst = 0.0
        started = time.process_time()
        for shipment, eligibility, pool in cases:
            one = time.process_time()
            plan = planner(shipment, eligibility, pool, True)
            worst = max(worst, time.process_time() - one)
            complete += plan.is_complete
            groups += len(
                {(a.draw.supply_id is None, a.draw.location_id) for a in plan.assignments}
            )
        seconds = time.process_time() - started
        print(
            f"planner: {name} {label} lines={lines[0]}-{lines[1]} shipments={n} "
            f"complete={complete} shipments_made={groups} "
            f"mean_ms={seconds / n * 1e3:.2f} max_ms={worst * 1e3:.1f}"
        )


def main() -> None:
    measure_planner("typical", (1, 5), 2_000, 0.15)
    measure_planner("worst-bound", (50, 50), 30, 0.5)
    measure_planner("worst-search", (50, 50), 30, 0.6, sku_count=5)
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
