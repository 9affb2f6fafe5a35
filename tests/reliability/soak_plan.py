"""The soak's inputs: a seeded stream of phases over a small catalog that keeps changing.

A phase opens with new SKUs (their listings), then bursts — what one
`Recorder.publish` sends at once: a few new shipments (1-4 lines, three in four from the
phase's SKUs, the rest from two dozen shared ones; bundles, BOPIS, split allowed or not),
a cancel now and then, the stock that can complete a shipment created earlier, and noise
on the shared SKUs: stows, absolute levels, supply beyond the date limit, re-dated or
cancelled, stows that cover promised supply (R10), listings and locations switched. A
phase ends in a storm: the stock of every shipment still without it, at once — one event
per SKU of each (a stow, a level, or a supply within the limit), so events for different
SKUs of one shipment reach different partitions, and replicas, together (issue 10).
Odd phases are *pair phases*: their first shipments need two SKUs each that nobody else
needs (issue 10's own experiment), and their storm carries those pairs' stock alone.

Why new SKUs each phase: a replica passes over a shipment on another SKU's committed total
(defect 1) only where that total is short, and stock left over anywhere (an inactive store,
supply beyond the limit) keeps it from being short. Fresh SKUs are empty until their storm,
as in a new world; the shared ones carry the leftovers and the noise.

Everything is valid: every input's expected fate is "applied". The stream depends on the
seed alone (and on today's date for supply dates, kept at least ten days from the date
limit: crossing midnight changes nothing). The generator does not know what the worker
decided; it need not, the checker reads that back.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from tests.e2e.support import Event
from tests.reliability.soak_events import LOCATIONS, PICKUP, PlanShape, SoakEvents


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
class SoakPlan(SoakEvents):
    """`catalog()` first, applied before anything else; then per phase `phase()` (applied
    before its bursts), `burst()` as often as wanted, and `storm()`."""

    seed: int
    shape: PlanShape = field(default_factory=PlanShape)
    today: date = field(default_factory=lambda: datetime.now(UTC).date())

    def __post_init__(self) -> None:
        self._rnd = random.Random(self.seed)
        self.sku_ids = [f"K{i:02d}" for i in range(self.shape.shared_skus)]
        self.fresh_ids: list[str] = []
        self._pairs: list[tuple[str, str]] = []
        self._paired: set[str] = set()  # this phase's pair shipments, stocked by its storm
        self._phase = 0
        self._orders: list[_Order] = []
        self._cancelled: set[str] = set()
        self._supplies: dict[tuple[str, str], list[str]] = {}
        self._active = {loc: loc != "ST2" for loc in LOCATIONS}
        self._types = {loc: types for loc, (types, _) in LOCATIONS.items()}
        self.counts: Counter[str] = Counter()  # events generated, by type

    # --- the catalog ----------------------------------------------------------------

    def catalog(self) -> list[Event]:
        """The locations and the shared SKUs' listings."""
        events = [self._location(loc, self._active[loc]) for loc in LOCATIONS]
        return events + self._listings_of(self.sku_ids)

    def phase(self) -> list[Event]:
        """The listings of the next phase's own SKUs, from now on most new shipments'. Odd
        phases are *pair* phases: their first shipments need two SKUs each that nobody
        else needs (issue 10's experiment), the rest only shared SKUs."""
        self._phase += 1
        p, shape = self._phase, self.shape
        if p % 2:
            self._pairs = [(f"P{p}A{i:02d}", f"P{p}B{i:02d}") for i in range(shape.pairs)]
            self.fresh_ids = []
            listed = [sku for pair in self._pairs for sku in pair]
        else:
            self._pairs = []
            self.fresh_ids = listed = [f"P{p}K{i:02d}" for i in range(shape.phase_skus)]
        events = self._listings_of(listed)
        self.counts.update(event_type for event_type, _ in events)
        return events

    def _listings_of(self, skus: list[str]) -> list[Event]:
        rnd = self._rnd
        events = []
        for i, sku in enumerate(skus):
            behaviour = "PREORDER" if i % 5 == 4 else "BACKORDER"
            events.append(self._listing(sku, behaviour, future=i % 7 != 6))
            if rnd.random() < 0.2:  # a per-location override: R1
                loc = rnd.choice(list(LOCATIONS))
                events.append(self._listing(sku, "BACKORDER", future=rnd.random() < 0.5, loc=loc))
        return events

    # --- the bursts -----------------------------------------------------------------

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
        races before the oracle looks). In a pair phase, the stock of the pairs alone: a
        round that waits on another replica's lock sees that replica's commit, and the
        others' stock would bring such waits in, and with them rescues."""
        live = [o for o in self._orders if o.shipment_id not in self._cancelled]
        events: list[Event] = []
        for order in live:  # a pair phase's storm brings the pairs' stock alone
            if order.shipment_id in self._paired or (not self._paired and not order.stocked):
                order.stocked = True
                events += self._completing(order)
        self._paired = set()
        self._rnd.shuffle(events)
        self.counts.update(event_type for event_type, _ in events)
        return events

    def _new_order(self) -> Event:
        rnd = self._rnd
        n = len(self._orders)
        count = rnd.choices([1, 2, 3, 4], weights=[3, 4, 2, 1])[0]
        fresh = sum(rnd.random() < self.shape.fresh_share for _ in range(count))
        fresh = min(fresh, len(self.fresh_ids))
        skus = rnd.sample(self.fresh_ids, fresh) + rnd.sample(self.sku_ids, count - fresh)
        paired = bool(self._pairs)
        if paired:
            skus = list(self._pairs.pop())
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
        if paired:  # only the storm brings its stock, and nothing else can rescue it
            order.stocked = True
            self._paired.add(order.shipment_id)
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
            sku, loc = rnd.choice(self.sku_ids + self.fresh_ids), rnd.choice([None, *LOCATIONS])
            behaviour = rnd.choice(["BACKORDER", "PREORDER"])
            events.append(self._listing(sku, behaviour, future=rnd.random() < 0.7, loc=loc))
        return events
