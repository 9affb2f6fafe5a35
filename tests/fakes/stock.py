"""The fake ``StockPort`` and ``SupplyPort``: positions, supplies and the allocation
ledger in the state. Every write is immediate (``add_free_stock_later`` too)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from backorder_worker.domain.inventory import StockKey, Supply
from backorder_worker.domain.outcomes import Trigger
from backorder_worker.domain.receiving import SupplyCut
from backorder_worker.service_layer.ports import ShipmentState, StockPosition
from tests.fakes.state import FakeArea


class FakeStock(FakeArea):
    def stock_position(self, location_id: str, sku: str) -> StockPosition:
        return self.state.stock.get((location_id, sku), StockPosition(location_id, sku, 0))

    def add_free_stock(self, location_id: str, sku: str, units: int) -> int:
        before = self.stock_position(location_id, sku)
        self.state.stock[(location_id, sku)] = replace(before, free=before.free + units)
        return before.free

    def add_free_stock_later(self, location_id: str, sku: str, units: int) -> None:
        self.add_free_stock(location_id, sku, units)

    def set_free_stock(
        self, location_id: str, sku: str, free: int, level_as_of: datetime | None = None
    ) -> None:
        before = self.stock_position(location_id, sku)
        as_of = level_as_of if level_as_of is not None else before.level_as_of
        self.state.stock[(location_id, sku)] = StockPosition(location_id, sku, free, as_of)

    def assigned_since(self, location_id: str, sku: str, since: datetime) -> int:
        return sum(
            q
            for loc, s, q, at in self.state.allocations
            if (loc, s) == (location_id, sku) and at > since
        )

    def current_stock(self, skus: Iterable[str]) -> dict[StockKey, int]:
        wanted = set(skus)
        return {k: p.free for k, p in self.state.stock.items() if k[1] in wanted}

    def stock_totals(self, skus: Iterable[str]) -> dict[str, int]:
        wanted = set(skus)
        totals = dict.fromkeys(wanted, 0)
        for (_, sku), position in self.state.stock.items():
            if sku in wanted:
                totals[sku] += position.free
        for supply in self.state.supplies.values():
            if supply.sku in wanted:
                totals[supply.sku] += supply.free
        return totals

    def skus_at(self, location_id: str) -> set[str]:
        stocked = {s for (loc, s), p in self.state.stock.items() if loc == location_id and p.free}
        return stocked | {
            s.sku for s in self.state.supplies.values() if s.location_id == location_id and s.free
        }


class FakeSupplies(FakeArea):
    def supply(self, supply_id: str) -> Supply | None:
        return self.state.supplies.get(supply_id)

    def save_supply(self, supply: Supply) -> None:
        self.state.supplies[supply.supply_id] = supply

    def supplies(self, skus: Iterable[str]) -> list[Supply]:
        wanted = set(skus)
        return [s for s in self.state.supplies.values() if s.sku in wanted and s.free > 0]

    def promised_from(self, supply: Supply) -> list[str]:
        return sorted(
            {
                shipment_id
                for supply_id, shipment_id in self.state.promises
                if supply_id == supply.supply_id
                and self.state.shipments[shipment_id].state is ShipmentState.FUTURE
            }
        )

    def note_supply_cut(self, cut: SupplyCut, trigger: Trigger, now: datetime) -> None:
        self.state.notes += [
            (shipment_id, trigger.event_id, cut) for shipment_id in cut.shipment_ids
        ]
