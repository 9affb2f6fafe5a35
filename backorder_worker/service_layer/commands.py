"""Commands: what an input event asks the worker to do, in domain terms.

The entry point turns a validated wire message into one of these; the handlers never see
pydantic models or Kafka records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from backorder_worker.domain.model import FulfillmentType, Line, OutOfStockBehaviour
from backorder_worker.domain.outcomes import Trigger


@dataclass(frozen=True, slots=True)
class StowStock:
    location_id: str
    sku: str
    quantity: int
    supply_id: str | None = None


@dataclass(frozen=True, slots=True)
class SetStockLevel:
    location_id: str
    sku: str
    available: int
    as_of: datetime


@dataclass(frozen=True, slots=True)
class AnnounceSupply:
    supply_id: str
    location_id: str
    sku: str
    quantity: int  # 0 cancels the supply
    expected_date: date


@dataclass(frozen=True, slots=True)
class UpdateListing:
    sku: str
    out_of_stock_behaviour: OutOfStockBehaviour
    location_id: str | None = None
    future_inventory_enabled: bool | None = None  # None keeps the stored value (default on)


@dataclass(frozen=True, slots=True)
class UpdateLocation:
    location_id: str
    active: bool
    fulfillment_types: frozenset[FulfillmentType]
    rank: int | None = None  # None keeps the stored rank (default 0)


@dataclass(frozen=True, slots=True)
class CreateShipment:
    shipment_id: str
    order_id: str
    fulfillment_type: FulfillmentType
    lines: tuple[Line, ...]
    pickup_location_id: str | None = None
    priority: int = 0
    split_allowed: bool | None = None
    backorder_days: int | None = None


@dataclass(frozen=True, slots=True)
class ShortPickedLine:
    line_id: str
    sku: str
    missing_quantity: int


@dataclass(frozen=True, slots=True)
class ReportShortPick:
    shipment_id: str
    order_id: str
    location_id: str
    lines: tuple[ShortPickedLine, ...]


@dataclass(frozen=True, slots=True)
class CancelShipment:
    shipment_id: str
    order_id: str


Command = (
    StowStock
    | SetStockLevel
    | AnnounceSupply
    | UpdateListing
    | UpdateLocation
    | CreateShipment
    | ReportShortPick
    | CancelShipment
)


def skus_of(command: Command) -> frozenset[str]:
    """The SKUs whose stock or waiting shipments a command may touch first (locked up
    front for a whole batch, in one statement and in one order)."""
    match command:
        case StowStock() | SetStockLevel() | AnnounceSupply() | UpdateListing():
            return frozenset({command.sku})
        case CreateShipment() | ReportShortPick():
            return frozenset(line.sku for line in command.lines)
    return frozenset()


@dataclass(frozen=True, slots=True)
class Envelope:
    """A command with the identity and time of the event that carried it."""

    event_id: str
    event_type: str
    time: datetime  # the CloudEvents time: orders the waiting room (R7)
    digest: str  # hash of the event's content: a reused id with other content is caught
    command: Command

    @property
    def trigger(self) -> Trigger:
        return Trigger(self.event_id, self.event_type)
