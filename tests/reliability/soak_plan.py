"""The soak's inputs: a seeded stream of bursts over a small catalog that keeps changing.

A burst is what one `Recorder.publish` sends at once: a few new shipments (1-4 lines over a
few dozen SKUs, bundles, BOPIS, split allowed or not), a cancel now and then, and the stock
that can complete one or two shipments created earlier — one event per SKU of the shipment
(a stow, an absolute level, or a supply within the date limit), so events for different
SKUs of one shipment reach different partitions, and replicas, together (issue 10's race).
Around them: noise stows and levels, supply beyond the date limit or re-dated, stows that
cover promised supply (R10), listings and locations switched. Everything is valid: every
input's expected fate is "applied".

The stream depends on the seed alone (and on today's date for supply dates, kept at
least ten days from the date limit: crossing midnight changes nothing). The generator
does not know what the worker decided; it need not, the checker reads that back.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.e2e.support import Event

LOCATIONS: dict[str, tuple[tuple[str, ...], int]] = {
    "DC1": (("STH",), 1),
    "DC2": (("STH", "BOPIS"), 2),
    "ST1": (("BOPIS",), 3),
    "ST2": (("STH", "BOPIS"), 4),  # starts inactive: switched on and off during the run
}
PICKUP = ("DC2", "ST1", "ST2")
FAR_FROM_LIMIT_DAYS = 10  # supply dates keep this far from the 30-day limit either side


@dataclass(frozen=True)
class PlanShape:
    skus: int = 48
    new_shipments: tuple[int, int] = (1, 4)  # per burst, inclusive
    completed_per_burst: tuple[int, int] = (0, 1)
    limit_days: int = 30  # the worker's `future_date_limit_days`


@dataclass
class _Order:
    shipment_id: str
    order_id: str
    lines: list[dict[str, Any]]
    fulfillment_type: str
    pickup: str | None
    split: bool | None
    stocked: bool = False  # the generator sent stock that could complete it


@dataclass
class SoakPlan:
    """`catalog` first (applied before anything else), then `bursts()` without end."""

    seed: int
    shape: PlanShape = field(default_factory=PlanShape)
    today: date = field(default_factory=lambda: datetime.now(UTC).date())

    def __post_init__(self) -> None:
        self._rnd = random.Random(self.seed)
        self.sku_ids = [f"K{i:02d}" for i in range(self.shape.skus)]
        self._orders: list[_Order] = []
        self._cancelled: set[str] = set()
        self._supplies: dict[tuple[str, str], list[str]] = {}
        self._active = {loc: loc != "ST2" for loc in LOCATIONS}
        self._types = {loc: types for loc, (types, _) in LOCATIONS.items()}
        self.counts: Counter[str] = Counter()  # events generated, by type

    # --- the catalog ----------------------------------------------------------------

    def catalog(self) -> list[Event]:
        rnd = self._rnd
        events = [self._location(loc, self._active[loc]) for loc in LOCATIONS]
        for i, sku in enumerate(self.sku_ids):
            behaviour = "PREORDER" if i % 5 == 4 else "BACKORDER"
            events.append(self._listing(sku, behaviour, future=i % 7 != 6))
            if rnd.random() < 0.2:  # a per-location override: R1
                loc = rnd.choice(list(LOCATIONS))
                events.append(self._listing(sku, "BACKORDER", future=rnd.random() < 0.5, loc=loc))
        return events

    # --- the bursts -----------------------------------------------------------------

    def bursts(self) -> Iterator[list[Event]]:
        while True:
            yield self.burst()

    def burst(self) -> list[Event]:
        rnd, shape = self._rnd, self.shape
        events = [self._new_order() for _ in range(rnd.randint(*shape.new_shipments))]
        live = [o for o in self._orders if o.shipment_id not in self._cancelled]
        # Stock for shipments created a few bursts ago, so that they wait when it comes,
        # and each gets it once: the rest of the stock is what lets others through.
        pending = [o for o in live[: -2 * shape.new_shipments[1]] if not o.stocked]
        stock: list[Event] = []
        for order in pending[: rnd.randint(*shape.completed_per_burst)]:
            order.stocked = True
            stock += self._completing(order)
        stock += self._noise()
        rnd.shuffle(stock)
        if live and rnd.random() < 0.15:
            events.append(self._cancel(rnd.choice(live)))
        events += stock
        self.counts.update(event_type for event_type, _ in events)
        return events

    def storm(self) -> list[Event]:
        """The stock of every shipment still without it, all at once (the end of a phase:
        the soak then waits for quiescence, so nothing can rescue a release lost in its
        races before the oracle looks)."""
        live = [o for o in self._orders if o.shipment_id not in self._cancelled]
        events: list[Event] = []
        for order in live:
            if not order.stocked:
                order.stocked = True
                events += self._completing(order)
        self._rnd.shuffle(events)
        self.counts.update(event_type for event_type, _ in events)
        return events

    def _new_order(self) -> Event:
        rnd = self._rnd
        n = len(self._orders)
        skus = rnd.sample(self.sku_ids, rnd.choices([1, 2, 3, 4], weights=[3, 4, 2, 1])[0])
        lines: list[dict[str, Any]] = [
            {"line_id": f"W{n}-{i}", "sku": sku, "quantity": rnd.choice([1, 1, 2])}
            for i, sku in enumerate(skus)
        ]
        if len(lines) >= 2 and rnd.random() < 0.3:  # R9: two lines as one unit
            for line in lines[:2]:
                line["bundle_id"] = f"B{n}"
        bopis = rnd.random() < 0.25
        split = rnd.choice([None, None, None, True, False])
        order = _Order(f"W{n}", f"O{n}", lines, "BOPIS" if bopis else "STH", None, split)
        if bopis:
            order.pickup = rnd.choice(PICKUP)
        self._orders.append(order)
        data: dict[str, Any] = {
            "shipment_id": order.shipment_id,
            "order_id": order.order_id,
            "fulfillment_type": order.fulfillment_type,
            "lines": lines,
        }
        if order.pickup is not None:
            data["pickup_location_id"] = order.pickup
        if split is not None:
            data["split_allowed"] = split
        return ("shipment.created", data)

    def _cancel(self, order: _Order) -> Event:
        self._cancelled.add(order.shipment_id)
        return (
            "shipment.cancelled",
            {"shipment_id": order.shipment_id, "order_id": order.order_id},
        )

    def _completing(self, order: _Order) -> list[Event]:
        """One event per SKU of `order` that could supply its line, at a place that serves
        it as the catalog stands now (the same place for all without split, and for a
        bundle). A later catalog change may close that place again: then it waits."""
        rnd = self._rnd
        serving = [
            loc
            for loc in LOCATIONS
            if self._active[loc]
            and order.fulfillment_type in self._types[loc]
            and (order.pickup is None or loc == order.pickup)
        ]
        if not serving:
            return []
        together = rnd.choice(serving)
        one_place = order.split is False or rnd.random() < 0.5
        future_too = rnd.random() < 0.3
        events = []
        for line in order.lines:
            loc = together if one_place or "bundle_id" in line else rnd.choice(serving)
            units = line["quantity"] + (rnd.random() < 0.1)  # a unit over, now and then
            kind = rnd.random()
            if future_too and kind < 0.5:
                events.append(self._supply(loc, line["sku"], units, within=True))
            elif kind < 0.85:
                events.append(self._stow(loc, line["sku"], units))
            else:
                events.append(self._level(loc, line["sku"], units))
        return events

    def _noise(self) -> list[Event]:
        rnd = self._rnd
        events: list[Event] = []
        if rnd.random() < 0.2:  # stock nobody was promised: kept scarce, or nobody waits
            events.append(self._stow(self._loc(), self._sku(), rnd.randint(1, 2)))
        if rnd.random() < 0.2:
            events.append(self._level(self._loc(), self._sku(), rnd.randint(0, 2)))
        if rnd.random() < 0.15:
            events.append(self._supply(self._loc(), self._sku(), rnd.randint(1, 3), within=False))
        if rnd.random() < 0.15 and self._supplies:
            (loc, sku), ids = rnd.choice(sorted(self._supplies.items()))
            if rnd.random() < 0.5:  # R10: the supply arrives, covering what was promised
                stowed = {"location_id": loc, "sku": sku, "quantity": rnd.randint(1, 3)}
                events.append(("stock.stowed", {**stowed, "supply_id": rnd.choice(ids)}))
            else:  # re-dated, resized or cancelled (0)
                events.append(self._supply_update(rnd.choice(ids), loc, sku))
        if rnd.random() < 0.06:  # ST2 switched on or off; ST1 starts or stops serving STH
            loc = rnd.choice(["ST1", "ST2"])
            if loc == "ST2":
                self._active[loc] = not self._active[loc]
            else:
                self._types[loc] = ("BOPIS",) if "STH" in self._types[loc] else ("STH", "BOPIS")
            events.append(self._location(loc, self._active[loc]))
        if rnd.random() < 0.06:
            sku, loc = self._sku(), rnd.choice([None, *LOCATIONS])
            behaviour = rnd.choice(["BACKORDER", "PREORDER"])
            events.append(self._listing(sku, behaviour, future=rnd.random() < 0.7, loc=loc))
        return events

    # --- single events ----------------------------------------------------------------

    def _loc(self) -> str:
        return self._rnd.choice(list(LOCATIONS))

    def _sku(self) -> str:
        return self._rnd.choice(self.sku_ids)

    def _stow(self, loc: str, sku: str, units: int) -> Event:
        return ("stock.stowed", {"location_id": loc, "sku": sku, "quantity": units})

    def _level(self, loc: str, sku: str, available: int) -> Event:
        as_of = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return (
            "stock.level",
            {"location_id": loc, "sku": sku, "available": available, "as_of": as_of},
        )

    def _supply(self, loc: str, sku: str, units: int, *, within: bool) -> Event:
        ids = self._supplies.setdefault((loc, sku), [])
        ids.append(f"P-{loc}-{sku}-{len(ids)}")
        return self._supply_event(ids[-1], loc, sku, units, within)

    def _supply_update(self, supply_id: str, loc: str, sku: str) -> Event:
        units = self._rnd.choice([0, 1, 2, 3])
        return self._supply_event(supply_id, loc, sku, units, self._rnd.random() < 0.6)

    def _supply_event(self, supply_id: str, loc: str, sku: str, units: int, within: bool) -> Event:
        limit, margin = self.shape.limit_days, FAR_FROM_LIMIT_DAYS
        days = self._rnd.randint(1, limit - margin) if within else limit + margin + 5
        data = {
            "supply_id": supply_id,
            "location_id": loc,
            "sku": sku,
            "quantity": units,
            "expected_date": (self.today + timedelta(days=days)).isoformat(),
        }
        return ("future-inventory.updated", data)

    def _location(self, loc: str, active: bool) -> Event:
        types, rank = self._types[loc], LOCATIONS[loc][1]
        data = {"location_id": loc, "active": active, "fulfillment_types": list(types)}
        return ("location.updated", {**data, "rank": rank})

    def _listing(self, sku: str, behaviour: str, *, future: bool, loc: str | None = None) -> Event:
        data: dict[str, Any] = {
            "sku": sku,
            "out_of_stock_behaviour": behaviour,
            "future_inventory_enabled": future,
        }
        if loc is not None:
            data["location_id"] = loc
        return ("listing.updated", data)
