"""Short picks and cancels that cascade to remainders, through the handlers on Postgres:
the same rules as the in-memory store (tests/unit/service/test_short_picks_and_cancels.py)."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.postgres.inspect import shipment_view
from backorder_worker.adapters.postgres.outbox import PostgresOutbox
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.domain.model import FulfillmentType, Line, OutOfStockBehaviour
from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.handlers import handle
from backorder_worker.service_layer.ports import ShipmentState
from backorder_worker.service_layer.results import Applied, Outcome, Rejected
from backorder_worker.wire import decode_output_event
from backorder_worker.wire.outputs import ShipmentUnroutableData

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
TYPES = {
    c.StowStock: "stock.stowed",
    c.UpdateListing: "listing.updated",
    c.UpdateLocation: "location.updated",
    c.CreateShipment: "shipment.created",
    c.ReportShortPick: "shipment.short-picked",
    c.CancelShipment: "shipment.cancelled",
}


class Feed:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self.uow, self.ids, self.clock = uow, itertools.count(1), T0

    def __call__(self, command: c.Command, event_id: str | None = None) -> Outcome:
        self.clock += timedelta(minutes=1)
        digest = hashlib.sha256(repr(command).encode()).hexdigest()
        event = c.Envelope(
            event_id or f"e-{next(self.ids)}", TYPES[type(command)], self.clock, digest, command
        )
        with self.uow() as store:
            return handle(event, store, ReleasePolicy(), self.clock)

    def state(self, shipment_id: str) -> ShipmentState:
        with self.uow() as store:
            record = store.shipment(shipment_id)
        assert record is not None
        return record.state


@pytest.fixture
def feed(uow: PostgresUnitOfWork) -> Feed:
    apply = Feed(uow)
    for loc in ("A", "B"):
        apply(c.UpdateLocation(loc, True, frozenset(FulfillmentType)))
    for sku in ("KTP", "KTP2"):
        apply(c.UpdateListing(sku, OutOfStockBehaviour.BACKORDER))
    return apply


def order(shipment_id: str, *lines: tuple[str, int]) -> c.CreateShipment:
    return c.CreateShipment(
        shipment_id,
        f"O-{shipment_id}",
        FulfillmentType.STH,
        tuple(Line(f"{shipment_id}-{n}", sku, q) for n, (sku, q) in enumerate(lines, 1)),
    )


def short(shipment_id: str, location_id: str, line_id: str, sku: str, missing: int) -> c.Command:
    return c.ReportShortPick(
        shipment_id, f"O-{shipment_id}", location_id, (c.ShortPickedLine(line_id, sku, missing),)
    )


def test_short_picks_are_checked_against_the_shipment_and_lower_stock_by_what_is_missing(
    feed: Feed, uow: PostgresUnitOfWork
) -> None:
    feed(c.StowStock("A", "KTP", 10))
    feed(order("S-1", ("KTP", 4)))  # READY at A; 6 left free there

    elsewhere = feed(short("S-1", "B", "S-1-1", "KTP", 1))
    first = feed(short("S-1", "A", "S-1-1", "KTP", 3))
    too_many = feed(short("S-1", "A", "S-1-1", "KTP", 2))

    assert isinstance(elsewhere, Rejected) and elsewhere.error_type == "invalid-short-pick"
    assert isinstance(first, Applied)
    assert isinstance(too_many, Rejected) and too_many.error_type == "invalid-short-pick"
    with uow() as store:
        picked, remainder = store.shipment("S-1"), store.shipment("S-1-SP1")
        assert store.stock_position("A", "KTP").free == 0  # 6 - 3 missing - 3 re-routed
        assert store.shipment("S-1-SP2") is None
    assert picked is not None and [ln.quantity for ln in picked.shipment.lines] == [1]
    assert remainder is not None and remainder.parent_id == "S-1"
    assert [ln.quantity for ln in remainder.shipment.lines] == [3]


def test_cancelling_an_order_cancels_and_reports_every_remainder_that_still_waits(
    feed: Feed, uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox, engine: sa.Engine
) -> None:
    feed(c.StowStock("A", "KTP", 1))
    feed(c.StowStock("B", "KTP2", 1))
    feed(order("S-1", ("KTP", 1), ("KTP2", 2)))  # S-1-R1 KTP at A, S-1-R2 KTP2 at B, S-1-B
    feed(short("S-1-R1", "A", "S-1-1", "KTP", 1))  # S-1-R1-SP1 waits: no KTP anywhere
    assert feed.state("S-1-B") is ShipmentState.WAITING
    assert feed.state("S-1-R1-SP1") is ShipmentState.WAITING
    published = len(relay_outbox.pending(100, 0))

    cancelled = feed(c.CancelShipment("S-1", "O-S-1"), event_id="cancel-1")
    feed(c.StowStock("B", "KTP", 5))
    feed(c.StowStock("A", "KTP2", 5))

    assert isinstance(cancelled, Applied)
    assert [feed.state(s) for s in ("S-1", "S-1-B", "S-1-R1", "S-1-R1-SP1", "S-1-R2")] == [
        ShipmentState.CANCELLED,
        ShipmentState.CANCELLED,
        ShipmentState.READY,
        ShipmentState.CANCELLED,
        ShipmentState.READY,
    ]
    outputs = [decode_output_event(row.value) for row in relay_outbox.pending(100, 0)]
    after = [e.data for e in outputs[published:]]
    after_ids = [e.id for e in outputs[published:]]
    assert [(d.shipment_id, type(d).__name__) for d in after] == [
        ("S-1-B", "ShipmentUnroutableData"),
        ("S-1-R1-SP1", "ShipmentUnroutableData"),
    ]
    for data in after:
        assert isinstance(data, ShipmentUnroutableData)
        assert (data.state, data.trigger.id) == ("UNROUTABLE", "cancel-1")
        assert [(r.fence, r.detail) for r in data.reasons] == [
            ("parent-cancelled", "cancelled with S-1")
        ]
    with uow() as store:
        assert store.current_stock(["KTP", "KTP2"])[("B", "KTP")] == 5  # nobody took it
    view = shipment_view(engine, "S-1-R1", T0)  # the remainder shows as the child's child
    assert view is not None and [kid.shipment.shipment_id for kid in view.children] == ["S-1-R1-SP1"]
    cancel = shipment_view(engine, "S-1-R1-SP1", T0)
    assert cancel is not None and cancel.history[-1].detail["output_event_id"] == after_ids[1]
