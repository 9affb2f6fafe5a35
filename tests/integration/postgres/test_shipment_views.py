"""The operators' read-only queries: who waits (filtered), and why one shipment waits."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.postgres.overdue import flag_overdue
from backorder_worker.adapters.postgres.shipment_views import (
    WaitingFilter,
    WaitingStats,
    shipment_view,
    waiting_shipments,
    waiting_stats,
)
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.domain.model import FulfillmentType
from backorder_worker.service_layer import commands as c
from tests.support.driver import T0, Driver, order

NOW = T0 + timedelta(days=3)
STH_AND_BOPIS = frozenset(FulfillmentType)


@pytest.fixture
def room(uow: PostgresUnitOfWork) -> Driver:
    """S-1 (KTP 5 + KTP2 5, STH), S-2 (KTP 1, BOPIS at STORE-1) and S-3 (KTP2 1, STH,
    entered once B was inactive) wait, a day apart; S-4 (KTP 1) was released by a stow."""
    feed = Driver(uow)
    feed.apply(c.UpdateLocation("STORE-1", True, STH_AND_BOPIS), at=T0 - timedelta(hours=2))
    feed.clock = T0 - timedelta(hours=1)
    feed.seed_catalog(skus=("KTP", "KTP2"))
    feed.apply(order("S-1", ("KTP", 5), ("KTP2", 5)), at=T0)
    bopis = order("S-2", ("KTP", 1), fulfillment_type=FulfillmentType.BOPIS)
    feed.apply(
        c.CreateShipment(**{**vars_of(bopis), "pickup_location_id": "STORE-1"}),
        at=T0 + timedelta(days=1),
    )
    feed.apply(order("S-4", ("KTP", 1)))
    feed.apply(c.StowStock("A", "KTP", 1))
    feed.apply(c.UpdateLocation("B", False, STH_AND_BOPIS))
    feed.apply(order("S-3", ("KTP2", 1)), at=T0 + timedelta(days=2))
    return feed


def vars_of(command: c.CreateShipment) -> dict[str, object]:
    return {name: getattr(command, name) for name in command.__slots__}


def listed(engine: sa.Engine, **where: object) -> list[str]:
    views, _ = waiting_shipments(engine, WaitingFilter(**where), NOW)  # type: ignore[arg-type]
    return [v.shipment.shipment_id for v in views]


def test_the_list_holds_every_waiting_shipment_oldest_first_with_its_total(
    engine: sa.Engine, room: Driver
) -> None:
    views, total = waiting_shipments(engine, WaitingFilter(limit=2), NOW)

    assert [v.shipment.shipment_id for v in views] == ["S-1", "S-2"]
    assert total == 3
    assert views[0].reasons[0].fence == "complete-stock"


def test_the_list_filters_by_sku_location_age_and_overdue(engine: sa.Engine, room: Driver) -> None:
    assert listed(engine, sku="KTP2") == ["S-1", "S-3"]
    assert listed(engine, location_id="STORE-1") == ["S-2"]  # its pickup location
    assert listed(engine, location_id="B") == ["S-3"]  # a reason: B is inactive
    assert listed(engine, location_id="A") == []  # "not the pickup location" does not count
    assert listed(engine, older_than=timedelta(hours=36)) == ["S-1", "S-2"]
    assert listed(engine, overdue_only=True) == []
    late = T0 + timedelta(days=14, hours=12)
    views, total = waiting_shipments(engine, WaitingFilter(overdue_only=True), late)
    assert [v.shipment.shipment_id for v in views] == ["S-1"] and total == 1
    assert views[0].overdue


def test_one_waiting_shipment_shows_every_reason_and_its_history(
    engine: sa.Engine, room: Driver
) -> None:
    view = shipment_view(engine, "S-1", NOW)

    assert view is not None and view.state == "WAITING"
    assert view.entered_at == T0 and view.expected_release_by == T0 + timedelta(days=14)
    assert [(r.fence, r.mode, r.sku, r.requested, r.assignable) for r in view.reasons] == [
        ("complete-stock", "reactive", "KTP", 5, 0),
        ("complete-stock", "reactive", "KTP2", 5, 0),
    ]
    # The stow of one KTP could not help it (KTP2 is short too): not evaluated, the
    # reasons of its last evaluation stand; `waiting` adds a live check.
    assert [(h.event_type, h.state) for h in view.history] == [("shipment.created", "WAITING")]
    assert view.history[0].detail["outcome"] == "waiting"


def test_a_released_shipment_shows_its_state_and_the_release_in_its_history(
    engine: sa.Engine, room: Driver
) -> None:
    view = shipment_view(engine, "S-4", NOW)

    assert view is not None and view.state == "READY" and view.location_id == "A"
    assert [h.detail["outcome"] for h in view.history] == ["waiting", "released"]
    assert shipment_view(engine, "nope", NOW) is None


def test_the_stats_count_the_room_and_date_its_oldest_entry(
    engine: sa.Engine, room: Driver
) -> None:
    assert waiting_stats(engine) == WaitingStats(waiting=3, overdue=0, oldest_entered_at=T0)
    flagged = flag_overdue(engine, T0 + timedelta(days=365))  # every one is due by then
    assert flagged == 3
    assert waiting_stats(engine) == WaitingStats(waiting=3, overdue=3, oldest_entered_at=T0)


def test_a_parent_split_across_locations_lists_the_shipments_it_was_released_as(
    engine: sa.Engine, uow: PostgresUnitOfWork
) -> None:
    feed = Driver(uow)
    feed.seed_catalog(skus=("KTP", "KTP2"))
    feed.apply(order("S-9", ("KTP", 1), ("KTP2", 1)))
    feed.apply(c.StowStock("A", "KTP", 1))
    feed.apply(c.StowStock("B", "KTP2", 1))

    view = shipment_view(engine, "S-9", NOW)

    assert view is not None and view.state == "REASSIGNED" and view.reasons == ()
    assert [(k.shipment.shipment_id, k.state, k.location_id) for k in view.children] == [
        ("S-9-R1", "READY", "A"),
        ("S-9-R2", "READY", "B"),
    ]
    assert view.history[-1].detail["release"] == "CURRENT"
