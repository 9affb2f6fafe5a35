"""The ports the handlers use, one small protocol per area; adapters implement them.

``Store`` is all of them at once, on one open transaction. Everything a handler writes
through it — state, the inbox row, the outbox rows — commits or rolls back together: that
is what makes an event's effect atomic and a redelivered event harmless. A function that
needs one area takes that area's port (``holds.linked_skus`` takes a ``WaitingRoomPort``),
so a test can fake just that.

The areas: ``inbox`` (claims), ``locks``, ``catalog`` (locations, listings), ``stock``
(positions and supplies), ``waiting_room``, ``shipments`` (decisions, cancels, short
picks) and ``outbox`` (what is queued for publishing, and the relay's view of it).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from backorder_worker.domain.model import ReleaseOrder
from backorder_worker.service_layer.ports.catalog import CatalogPort
from backorder_worker.service_layer.ports.inbox import Claim, InboxPort
from backorder_worker.service_layer.ports.locks import LockPort
from backorder_worker.service_layer.ports.outbox import (
    DeadLetter,
    EncodeDecision,
    Outbox,
    OutboxPort,
    OutboxRow,
    OutputRecord,
)
from backorder_worker.service_layer.ports.shipments import (
    ConcurrentRelease,
    ShipmentRecord,
    ShipmentsPort,
    ShipmentState,
)
from backorder_worker.service_layer.ports.stock import StockPort, StockPosition, SupplyPort
from backorder_worker.service_layer.ports.waiting_room import OrderKey, WaitingRoomPort

__all__ = [
    "CatalogPort",
    "Claim",
    "ConcurrentRelease",
    "DeadLetter",
    "EncodeDecision",
    "InboxPort",
    "LockPort",
    "OrderKey",
    "Outbox",
    "OutboxPort",
    "OutboxRow",
    "OutputRecord",
    "ReadAhead",
    "ShipmentRecord",
    "ShipmentState",
    "ShipmentsPort",
    "StockPort",
    "StockPosition",
    "Store",
    "SupplyPort",
    "UnitOfWork",
    "WaitingRoomPort",
]


@dataclass(frozen=True, slots=True)
class ReadAhead:
    """What a batch is about to ask for, so that a store may read it in a few statements
    first. A hint: a store may ignore it, and every answer is the same either way."""

    listings: frozenset[str] = frozenset()  # SKUs whose listings are read
    first_pages: frozenset[str] = frozenset()  # SKUs whose first waiting-room page is read
    order: ReleaseOrder = ReleaseOrder.FIFO  # ... in this order
    page_size: int = 0  # ... of at most this many shipments
    shipment_ids: frozenset[str] = frozenset()  # shipments looked up (mostly unknown yet)
    supply_ids: frozenset[str] = frozenset()  # supplies looked up by id


class Store(
    InboxPort,
    LockPort,
    CatalogPort,
    StockPort,
    SupplyPort,
    WaitingRoomPort,
    ShipmentsPort,
    OutboxPort,
    Protocol,
):
    """One transaction's view of the truth (Postgres in production): every port at once."""

    def read_ahead(self, ahead: ReadAhead) -> None:
        """Reads ahead what the batch will ask for (``ReadAhead``); no other effect."""


class UnitOfWork(Protocol):
    def __call__(self) -> AbstractContextManager[Store]:
        """Opens a transaction; commits when the block ends, rolls back on an exception."""
