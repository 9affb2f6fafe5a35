"""Short picks and cancels that cascade to remainders, through the handlers on Postgres:
the same rules as the in-memory store (tests/unit/service/test_short_picks_and_cancels.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.postgres.outbox import PostgresOutbox
from backorder_worker.adapters.postgres.shipment_views import shipment_view
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.ports import ShipmentState
from backorder_worker.service_layer.results import Applied, Rejected
from backorder_worker.wire import decode_output_event
from backorder_worker.wire.outputs import ShipmentUnroutableData
from tests.support.driver import T0, Driver, order


@pytest.fixture
def feed(uow: PostgresUnitOfWork) -> Driver:
    feed = Driver(uow)
    feed.seed_catalog(skus=("KTP", "KTP2"))
    return feed


def short(shipment_id: str, location_id: str, line_id: str, sku: str, missing: int) -> c.Command:
    return c.ReportShortPick(
        shipment_id, f"O-{shipment_id}", location_id, (c.ShortPickedLine(line_id, sku, missing),)
    )


def state(uow: PostgresUnitOfWork, shipment_id: str) -> ShipmentState:
    with uow() as store:
        record = store.shipment(shipment_id)
    assert record is not None
    return record.state


def test_short_picks_are_checked_against_the_shipment_and_lower_stock_by_what_is_missing(
    feed: Driver, uow: PostgresUnitOfWork
) -> None:
    feed.apply(c.StowStock("A", "KTP", 10))
    feed.apply(order("S-1", ("KTP", 4)))  # READY at A; 6 left free there

    elsewhere = feed.apply(short("S-1", "B", "S-1-1", "KTP", 1))
    first = feed.apply(short("S-1", "A", "S-1-1", "KTP", 3))
    too_many = feed.apply(short("S-1", "A", "S-1-1", "KTP", 2))

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
    feed: Driver, uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox, engine: sa.Engine
) -> None:
    feed.apply(c.StowStock("A", "KTP", 1))
    feed.apply(c.StowStock("B", "KTP2", 1))
    feed.apply(order("S-1", ("KTP", 1), ("KTP2", 2)))  # S-1-R1 KTP at A, S-1-R2 KTP2 at B, S-1-B
    feed.apply(short("S-1-R1", "A", "S-1-1", "KTP", 1))  # S-1-R1-SP1 waits: no KTP anywhere
    assert state(uow, "S-1-B") is ShipmentState.WAITING
    assert state(uow, "S-1-R1-SP1") is ShipmentState.WAITING
    published = len(relay_outbox.pending(100, 0))

    cancelled = feed.apply(c.CancelShipment("S-1", "O-S-1"))
    cancel_id = f"evt-{feed.sent}"
    feed.apply(c.StowStock("B", "KTP", 5))
    feed.apply(c.StowStock("A", "KTP2", 5))

    assert isinstance(cancelled, Applied)
    assert [state(uow, s) for s in ("S-1", "S-1-B", "S-1-R1", "S-1-R1-SP1", "S-1-R2")] == [
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
        assert (data.state, data.trigger.id) == ("UNROUTABLE", cancel_id)
        assert [(r.fence, r.detail) for r in data.reasons] == [
            ("parent-cancelled", "cancelled with S-1")
        ]
    with uow() as store:
        assert store.current_stock(["KTP", "KTP2"])[("B", "KTP")] == 5  # nobody took it
    view = shipment_view(engine, "S-1-R1", T0)  # the remainder shows as the child's child
    assert view is not None and [kid.shipment.shipment_id for kid in view.children] == [
        "S-1-R1-SP1"
    ]
    cancel = shipment_view(engine, "S-1-R1-SP1", T0)
    assert cancel is not None and cancel.history[-1].detail["output_event_id"] == after_ids[1]


def test_with_skip_off_a_cancelled_head_passes_the_stock_it_held_to_the_next_in_line(
    uow: PostgresUnitOfWork,
) -> None:
    feed = Driver(uow, policy=ReleasePolicy(allow_skip=False))
    feed.seed_catalog(skus=("KTP", "KTP2"))
    feed.apply(order("H", ("KTP", 5)))
    feed.apply(order("N", ("KTP", 3)))
    feed.apply(c.StowStock("A", "KTP", 3))  # H holds them
    assert state(uow, "N") is ShipmentState.WAITING

    feed.apply(c.CancelShipment("H", "O-H"))

    assert state(uow, "N") is ShipmentState.READY
    with uow() as store:
        assert store.stock_position("A", "KTP").free == 0
