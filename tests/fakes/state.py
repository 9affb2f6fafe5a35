"""What the fake store holds: one ``State`` per unit of work, deep-copied per transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from backorder_worker.domain.inventory import StockKey, Supply
from backorder_worker.domain.model import Listing, Location
from backorder_worker.domain.receiving import SupplyCut
from backorder_worker.service_layer.ports import OutboxRow, ShipmentRecord, StockPosition


@dataclass
class State:
    inbox: dict[str, str] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    listings: dict[tuple[str, str | None], Listing] = field(default_factory=dict)
    stock: dict[StockKey, StockPosition] = field(default_factory=dict)
    allocations: list[tuple[str, str, int, datetime]] = field(default_factory=list)
    supplies: dict[str, Supply] = field(default_factory=dict)
    shipments: dict[str, ShipmentRecord] = field(default_factory=dict)
    outbox: list[tuple[str, object]] = field(default_factory=list)  # (kind, decision/letter)
    rows: list[OutboxRow] = field(default_factory=list)  # the same, as the relay reads them
    promises: list[tuple[str, str]] = field(default_factory=list)  # (supply_id, shipment_id)
    notes: list[tuple[str, str, SupplyCut]] = field(default_factory=list)  # (shipment, event, cut)


class FakeArea:
    """One port's part of ``FakeStore``; every part shares the transaction's state."""

    state: State
