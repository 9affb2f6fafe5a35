"""A waiting shipment as the worker's own code would store it: its ``shipments`` row and
its ``waiting_skus`` rows.

The columns are those ``decisions.record_unroutable`` writes for a shipment that waits,
built with ``adapters.postgres.rows``; the index rows are those of
``shipments.enter_waiting_room``. The decision itself (reasons, ``expected_release_by``,
``overdue``) is the core's: ``ReleaseRound`` on an empty pool, with the site defaults.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from backorder_worker.adapters.postgres.rows import reasons_json, shipment_values
from backorder_worker.bootstrap import release_policy
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
    Shipment,
)
from backorder_worker.domain.outcomes import ShipmentUnroutable, Trigger, WaitState
from backorder_worker.domain.release import ReleaseRound
from backorder_worker.settings import Settings
from bench.room import RoomSpec, location_name

SHIPMENT_COLUMNS = [
    "shipment_id",
    "order_id",
    "fulfillment_type",
    "pickup_location_id",
    "priority",
    "split_allowed",
    "backorder_days",
    "lines",
    "state",
    "entered_at",
    "backordered_at",
    "expected_release_by",
    "overdue",
    "reasons",
    "updated_at",
]
POLICY = release_policy(Settings())  # the site defaults the worker runs with in the bench
_INTAKE = Trigger("bench-generate", "shipment.created")
_SOME_SKU = "any-listed-sku"
_BACKORDER = OutOfStockBehaviour.BACKORDER


def catalog_for(spec: RoomSpec, skus: Iterable[str]) -> Catalog:
    """The locations and SKU-wide BACKORDER listings, as the tables will hold them."""
    locations = {
        location_name(i): Location(location_name(i), rank=i % 5) for i in range(spec.locations)
    }
    listings = {(sku, None): Listing(sku, _BACKORDER) for sku in skus}
    return Catalog(locations, listings)


class RoomRows:
    """Turns shipments into the worker's rows, as the core decides them on an empty pool.

    Deciding every shipment costs ~80 us each, a minute and a half for a million; but with
    nothing in stock a shipment's rows depend only on its lines and ``entered_at``. So the
    core decides one shipment in ``verify_every`` in full (and the row composed for it must
    equal the core's, or the load stops), and the reasons of the others are composed from
    per-(SKU, units) reasons that the core decided once each, in the core's (SKU) order.
    """

    def __init__(self, catalog: Catalog, now: datetime, verify_every: int = 97) -> None:
        listings = {**catalog.listings, (_SOME_SKU, None): Listing(_SOME_SKU, _BACKORDER)}
        catalog = Catalog(catalog.locations, listings)
        self._round = ReleaseRound(catalog, POLICY, StockPool({}), now, _INTAKE)
        self._now, self._verify_every = now, verify_every
        self._reasons: dict[int, list[dict[str, Any]]] = {}
        self._due = timedelta(days=POLICY.default_backorder_days)
        self.count = 0

    def rows(self, shipment: Shipment, entered_at: datetime) -> tuple[tuple[Any, ...], list[Any]]:
        need: dict[str, int] = {}
        for line in shipment.lines:
            need[line.sku] = need.get(line.sku, 0) + line.quantity
        due = entered_at + self._due
        values = self._values(
            shipment,
            entered_at,
            due,
            self._now > due,
            [r for sku in sorted(need) for r in self._reason(sku, need[sku])],
        )
        if self.count % self._verify_every == 0:
            decided = self._decide(shipment, entered_at)
            if decided != values:
                raise AssertionError(f"composed row differs from the core's: {shipment}")
        self.count += 1
        row = tuple(values[column] for column in SHIPMENT_COLUMNS)
        index = [(shipment.shipment_id, sku, shipment.priority, entered_at) for sku in sorted(need)]
        return row, index

    def _values(
        self,
        shipment: Shipment,
        entered_at: datetime,
        due: datetime | None,
        overdue: bool,
        reasons: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """The columns ``decisions.record_unroutable`` writes for a shipment that waits."""
        values = {
            **shipment_values(shipment),
            "state": "WAITING",
            "entered_at": entered_at,
            "backordered_at": entered_at,
            "expected_release_by": due,
            "overdue": overdue,
            "reasons": json.dumps(reasons),
            "updated_at": self._now,
        }
        values["lines"] = json.dumps(values["lines"])
        return values

    def _decide(self, shipment: Shipment, entered_at: datetime) -> dict[str, Any]:
        decision = self._round.decide(Candidate(shipment, entered_at, Origin.INTAKE))[0]
        assert isinstance(decision, ShipmentUnroutable) and decision.state is WaitState.WAITING
        reasons = reasons_json(decision.reasons)
        return self._values(
            shipment, entered_at, decision.expected_release_by, decision.overdue, reasons
        )

    def _reason(self, sku: str, units: int) -> list[dict[str, Any]]:
        """The core's reasons for ``units`` missing units of a SKU (the SKU put in after:
        the core's text does not name it; the verified rows would show it if it did)."""
        if units not in self._reasons:
            line = Line("-", _SOME_SKU, units)
            one = Shipment(f"reason/{units}", "-", FulfillmentType.STH, (line,))
            decision = self._round.decide(Candidate(one, self._now, Origin.INTAKE))[0]
            assert isinstance(decision, ShipmentUnroutable)
            self._reasons[units] = reasons_json(decision.reasons)
        return [{**reason, "sku": sku} for reason in self._reasons[units]]
