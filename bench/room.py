"""The room to load and the events' draws: its size, its SKUs and how demand falls on them.

A ``RoomSpec`` fixes everything random with its ``seed``. SKU ``sku_name(i)`` for
``i < skus`` is one somebody may wait for; the wider space up to ``stock_skus`` is the
warehouse's whole assortment, which stock events are drawn from. Demand over the waiting
SKUs is Zipf(s): popularity rank r is a SKU fixed by the seed, so the room and the new
shipments of a run agree on which SKUs are popular.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from backorder_worker.domain.model import FulfillmentType, Line, Shipment

BURST_SKU = "BURST-SKU"
LINE_WEIGHTS = (0.40, 0.25, 0.15, 0.12, 0.08)  # 1..5 lines
QUANTITY_WEIGHTS = (0.70, 0.20, 0.10)  # 1..3 units a line


@dataclass(frozen=True)
class RoomSpec:
    waiting: int = 1_000_000
    skus: int = 100_000  # SKUs somebody waits for
    stock_skus: int = 1_000_000  # the wider space stock events are drawn from
    locations: int = 50
    zipf_s: float = 1.0
    weeks: int = 6
    bopis_share: float = 0.3
    burst: int = 10_000
    seed: int = 20261123


def sku_name(index: int) -> str:
    return f"SKU{index:07d}"


def location_name(index: int) -> str:
    return f"L{index:02d}"


class ZipfSkus:
    """Draws SKU indexes with Zipf(s) popularity. Popularity rank r is SKU ``order[r]``, a
    permutation fixed by ``seed``: the room and the new shipments of a run agree on it."""

    def __init__(self, skus: int, s: float, seed: int, rng: np.random.Generator) -> None:
        weights = 1.0 / np.arange(1, skus + 1, dtype=np.float64) ** s
        self._cdf = np.cumsum(weights) / weights.sum()
        self._order = np.random.default_rng(seed).permutation(skus)
        self._rng = rng

    def draw(self, count: int) -> np.ndarray:
        ranks = np.searchsorted(self._cdf, self._rng.random(count), side="right")
        return self._order[np.minimum(ranks, len(self._order) - 1)]


def zipf_shipments(spec: RoomSpec, now: datetime) -> Iterator[tuple[Shipment, datetime]]:
    """The main room, in chunks of vectorised draws."""
    rng = np.random.default_rng(spec.seed)
    skus = ZipfSkus(spec.skus, spec.zipf_s, spec.seed, rng)
    span_s = spec.weeks * 7 * 86_400
    chunk = 50_000
    for start in range(0, spec.waiting, chunk):
        n = min(chunk, spec.waiting - start)
        counts = rng.choice(len(LINE_WEIGHTS), n, p=LINE_WEIGHTS) + 1
        drawn = skus.draw(int(counts.sum()))
        quantities = rng.choice(len(QUANTITY_WEIGHTS), len(drawn), p=QUANTITY_WEIGHTS) + 1
        bopis = rng.random(n) < spec.bopis_share
        pickups = rng.integers(0, spec.locations, n)
        ages = rng.random(n) * span_s
        priorities = np.where(rng.random(n) < 0.05, rng.integers(1, 4, n), 0)
        at = 0
        for k in range(n):
            number = start + k
            shipment_id = f"W{number:07d}"
            lines, seen = [], set()
            for j in range(at, at + counts[k]):
                sku = sku_name(int(drawn[j]))
                if sku not in seen:  # a SKU once a shipment: Zipf repeats popular ones
                    seen.add(sku)
                    lines.append(Line(f"{shipment_id}-{len(lines) + 1}", sku, int(quantities[j])))
            at += counts[k]
            shipment = Shipment(
                shipment_id,
                f"O{number:07d}",
                FulfillmentType.BOPIS if bopis[k] else FulfillmentType.STH,
                tuple(lines),
                pickup_location_id=location_name(int(pickups[k])) if bopis[k] else None,
                priority=int(priorities[k]),
            )
            yield shipment, now - timedelta(seconds=float(ages[k]))


def single_unit_shipments(
    prefix: str, count: int, sku_of: Callable[[int], str], entered_at: datetime
) -> Iterator[tuple[Shipment, datetime]]:
    """``count`` one-line STH shipments of one unit; ``sku_of(i)`` names the line's SKU."""
    for i in range(count):
        shipment_id = f"{prefix}{i:06d}"
        line = Line(f"{shipment_id}-1", sku_of(i), 1)
        at = entered_at + timedelta(microseconds=i)  # a strict FIFO order
        yield Shipment(shipment_id, f"{prefix}O{i:06d}", FulfillmentType.STH, (line,)), at


def stock_rows(spec: RoomSpec) -> Iterator[tuple[str, str, int]]:
    """Free stock of the SKUs nobody waits for, each at one to four distinct locations. The
    waiting SKUs have none, so no waiting shipment can be completed (invariant I3 holds)."""
    rng = np.random.default_rng(spec.seed + 1)
    skus = np.arange(spec.skus, spec.stock_skus)
    counts = rng.integers(1, 5, len(skus))
    each = np.repeat(skus, counts)
    slot = np.arange(len(each)) - np.repeat(np.cumsum(counts) - counts, counts)
    first = np.repeat(rng.integers(spec.locations, size=len(skus)), counts)
    locations = (first + slot * 7) % spec.locations  # 7 and 50 are coprime: distinct places
    free = rng.integers(1, 60, len(each))
    for sku, location, units in zip(each, locations, free, strict=True):
        yield location_name(int(location)), sku_name(int(sku)), int(units)


def supply_rows(spec: RoomSpec, today: datetime) -> Iterator[tuple[str, str, str, int, date]]:
    """Announced supply for one SKU in ten. For a waiting SKU it is due after the date limit
    (45-120 days out), so it cannot release anything yet; the others may be due sooner."""
    rng = np.random.default_rng(spec.seed + 2)
    for i, sku in enumerate(np.flatnonzero(rng.random(spec.stock_skus) < 0.1)):
        waited_for = sku < spec.skus
        days = int(rng.integers(45, 121) if waited_for else rng.integers(3, 91))
        location = location_name(int(rng.integers(spec.locations)))
        due = (today + timedelta(days=days)).date()
        yield f"SUP-{i:07d}", location, sku_name(int(sku)), int(rng.integers(10, 201)), due
