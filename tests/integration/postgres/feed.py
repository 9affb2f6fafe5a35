"""Feeding the Postgres store through the real handlers, one event per transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from backorder_worker.domain.model import (
    FulfillmentType,
    Line,
    OutOfStockBehaviour,
    ReleasePolicy,
)
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.handlers import handle
from backorder_worker.service_layer.ports import UnitOfWork
from backorder_worker.service_layer.results import Outcome
from tests.unit.service.support import EVENT_TYPES

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@dataclass
class Feed:
    uow: UnitOfWork
    policy: ReleasePolicy = field(default_factory=ReleasePolicy)
    clock: datetime = T0
    sent: int = 0

    def __call__(self, command: c.Command, at: datetime | None = None) -> Outcome:
        self.sent += 1
        self.clock = at or self.clock + timedelta(minutes=1)
        digest = hashlib.sha256(repr(command).encode()).hexdigest()
        envelope = c.Envelope(
            f"evt-{self.sent}", EVENT_TYPES[type(command)], self.clock, digest, command
        )
        with self.uow() as store:
            return handle(envelope, store, self.policy, self.clock)

    def catalog(
        self, locations: tuple[str, ...] = ("A", "B"), skus: tuple[str, ...] = ("KTP", "KTP2")
    ) -> None:
        for location in locations:
            self(c.UpdateLocation(location, True, frozenset(FulfillmentType)))
        for sku in skus:
            self(c.UpdateListing(sku, OutOfStockBehaviour.BACKORDER))


def order(shipment_id: str, *lines: tuple[str, int], **kw: object) -> c.CreateShipment:
    return c.CreateShipment(
        shipment_id=shipment_id,
        order_id=f"O-{shipment_id}",
        fulfillment_type=kw.pop("fulfillment_type", FulfillmentType.STH),  # type: ignore[arg-type]
        lines=tuple(Line(f"{shipment_id}-{n}", sku, q) for n, (sku, q) in enumerate(lines, 1)),
        **kw,  # type: ignore[arg-type]
    )
