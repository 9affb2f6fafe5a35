"""Envelopes and a tiny driver that applies commands through the real handlers."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from backorder_worker.domain.model import (
    FulfillmentType,
    Line,
    OutOfStockBehaviour,
    ReleasePolicy,
)
from backorder_worker.domain.outcomes import Decision
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.handlers import handle
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


def envelope(command: c.Command, event_id: str, time: datetime) -> c.Envelope:
    digest = hashlib.sha256(repr(command).encode()).hexdigest()
    return c.Envelope(event_id, EVENT_TYPES[type(command)], time, digest, command)


@dataclass
class World:
    policy: ReleasePolicy = field(default_factory=ReleasePolicy)
    uow: FakeUnitOfWork = field(default_factory=FakeUnitOfWork)
    clock: datetime = T0
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def apply(self, command: c.Command, event_id: str | None = None) -> Outcome:
        self.clock += timedelta(minutes=1)
        with self.uow() as store:
            event = envelope(command, event_id or f"evt-{next(self.ids)}", self.clock)
            return handle(event, store, self.policy, self.clock)

    def decisions(self) -> list[Decision]:
        return [item for kind, item in self.uow.state.outbox if kind == "decision"]  # type: ignore[misc]

    def seed_catalog(
        self,
        locations: tuple[str, ...] = ("A", "B"),
        skus: tuple[str, ...] = ("KTP", "KTP2", "KTP3"),
    ) -> None:
        for loc in locations:
            self.apply(c.UpdateLocation(loc, True, frozenset(FulfillmentType)))
        for sku in skus:
            self.apply(c.UpdateListing(sku, OutOfStockBehaviour.BACKORDER))


def order(shipment_id: str, *lines: tuple[str, int], **kw: object) -> c.CreateShipment:
    return c.CreateShipment(
        shipment_id=shipment_id,
        order_id=f"O-{shipment_id}",
        fulfillment_type=FulfillmentType.STH,
        lines=tuple(Line(f"{shipment_id}-{i}", sku, q) for i, (sku, q) in enumerate(lines, 1)),
        **kw,  # type: ignore[arg-type]
    )
