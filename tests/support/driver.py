"""Driving a unit of work through the real handlers, one event per transaction.

``Driver`` is the one way the service tests and the Postgres tests feed events: it wraps
a command in an envelope (a fresh ``evt-N`` id, a digest of the command, a clock that
moves a minute per event unless told the time) and handles it in its own transaction.
On the in-memory fake (the default) it also reads back the decisions queued in the
outbox; on Postgres, the tests read the tables.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from backorder_worker.domain.model import (
    FulfillmentType,
    Line,
    OutOfStockBehaviour,
    ReleasePolicy,
)
from backorder_worker.domain.outcomes import Decision
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.handlers import handle
from backorder_worker.service_layer.ports import UnitOfWork
from backorder_worker.service_layer.results import Outcome
from tests.fakes import FakeUnitOfWork

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
EVENT_TYPES = {
    c.StowStock: "stock.stowed",
    c.SetStockLevel: "stock.level",
    c.AnnounceSupply: "future-inventory.updated",
    c.UpdateListing: "listing.updated",
    c.UpdateLocation: "location.updated",
    c.CreateShipment: "shipment.created",
    c.ReportShortPick: "shipment.short-picked",
    c.CancelShipment: "shipment.cancelled",
}

U = TypeVar("U", bound=UnitOfWork)


def envelope(command: c.Command, event_id: str, time: datetime) -> c.Envelope:
    digest = hashlib.sha256(repr(command).encode()).hexdigest()
    return c.Envelope(event_id, EVENT_TYPES[type(command)], time, digest, command)


@dataclass
class Driver(Generic[U]):
    uow: U = field(default_factory=FakeUnitOfWork)  # type: ignore[assignment]
    policy: ReleasePolicy = field(default_factory=ReleasePolicy)
    clock: datetime = T0
    sent: int = 0  # events sent so far: the last one's id is f"evt-{sent}"

    def apply(
        self, command: c.Command, event_id: str | None = None, at: datetime | None = None
    ) -> Outcome:
        """Handles ``command`` in its own transaction, a minute after the last (or ``at``)."""
        self.sent += 1
        self.clock = at or self.clock + timedelta(minutes=1)
        event = envelope(command, event_id or f"evt-{self.sent}", self.clock)
        with self.uow() as store:
            return handle(event, store, self.policy, self.clock)

    def seed_catalog(
        self,
        locations: tuple[str, ...] = ("A", "B"),
        skus: tuple[str, ...] = ("KTP", "KTP2", "KTP3"),
    ) -> None:
        """Active locations for every fulfillment type, and backorderable listings."""
        for location in locations:
            self.apply(c.UpdateLocation(location, True, frozenset(FulfillmentType)))
        for sku in skus:
            self.apply(c.UpdateListing(sku, OutOfStockBehaviour.BACKORDER))

    def decisions(self) -> list[Decision]:
        """The decisions queued in the fake's outbox, in order."""
        if not isinstance(self.uow, FakeUnitOfWork):
            raise TypeError("decisions() reads the fake's outbox; on Postgres read the tables")
        return [item for kind, item in self.uow.state.outbox if kind == "decision"]  # type: ignore[misc]


def order(shipment_id: str, *lines: tuple[str, int], **kw: object) -> c.CreateShipment:
    """A ship-to-home shipment (unless ``fulfillment_type=`` says otherwise) of these lines."""
    return c.CreateShipment(
        shipment_id=shipment_id,
        order_id=f"O-{shipment_id}",
        fulfillment_type=kw.pop("fulfillment_type", FulfillmentType.STH),  # type: ignore[arg-type]
        lines=tuple(Line(f"{shipment_id}-{n}", sku, q) for n, (sku, q) in enumerate(lines, 1)),
        **kw,  # type: ignore[arg-type]
    )
