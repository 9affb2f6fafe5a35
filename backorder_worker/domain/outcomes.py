"""What a decision round says about a shipment: released, or still unroutable.

A business "no" is an outcome, not an exception. Each outcome carries its deterministic
event id (I4) and what the shell must persist: the draws on stock for a release, the
waiting-room entry for a shipment that waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from backorder_worker.domain.fences import Reason
from backorder_worker.domain.inventory import Draw
from backorder_worker.domain.model import Candidate, Shipment


class ReleaseKind(StrEnum):
    CURRENT = "CURRENT"
    FUTURE = "FUTURE"
    CURRENT_AND_FUTURE = "CURRENT_AND_FUTURE"


class ShipmentStatus(StrEnum):
    READY = "READY"
    FUTURE = "FUTURE"
    REASSIGNED = "REASSIGNED"


class PaymentAction(StrEnum):
    NONE = "NONE"
    VOID_AND_REAUTH = "VOID_AND_REAUTH"


class WaitState(StrEnum):
    WAITING = "WAITING"  # in the waiting room; the reactive fence will bring it back
    UNROUTABLE = "UNROUTABLE"  # a static reason; not retried automatically


@dataclass(frozen=True, slots=True)
class Trigger:
    event_id: str
    event_type: str


@dataclass(frozen=True, slots=True)
class ReleasedLine:
    line_id: str
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ReleasedShipment:
    shipment_id: str
    status: ShipmentStatus  # READY or FUTURE
    location_id: str
    expected_date: date | None
    lines: tuple[ReleasedLine, ...]


@dataclass(frozen=True, slots=True)
class ShipmentReleased:
    event_id: str
    parent: Shipment
    release: ReleaseKind
    parent_status: ShipmentStatus  # READY or REASSIGNED
    shipments: tuple[ReleasedShipment, ...]
    short_lines: tuple[ReleasedLine, ...]
    split_off: Candidate | None
    payment_action: PaymentAction
    backordered_at: datetime | None
    released_at: datetime
    trigger: Trigger
    draws: tuple[Draw, ...]


@dataclass(frozen=True, slots=True)
class ShipmentUnroutable:
    event_id: str
    candidate: Candidate
    state: WaitState
    reasons: tuple[Reason, ...]
    expected_release_by: datetime | None
    overdue: bool
    trigger: Trigger

    @property
    def shipment(self) -> Shipment:
        return self.candidate.shipment


Decision = ShipmentReleased | ShipmentUnroutable
