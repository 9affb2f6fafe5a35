"""A supply cut below its promises, through the handlers on Postgres: the FUTURE shipments
holding its units are found in the allocation ledger and get a history row."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.postgres.shipment_views import shipment_view
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.results import Applied
from tests.support.driver import T0, Driver, order

EXPECTED = date(2026, 5, 10)


@pytest.fixture
def feed(uow: PostgresUnitOfWork) -> Driver:
    feed = Driver(uow)
    feed.seed_catalog(skus=("KTP", "KTP2"))
    return feed


def test_a_supply_cut_notes_the_shortfall_on_each_future_shipment_it_leaves_short(
    feed: Driver, engine: sa.Engine
) -> None:
    feed.apply(c.AnnounceSupply("PO-1", "A", "KTP", 5, EXPECTED))
    feed.apply(c.AnnounceSupply("PO-2", "B", "KTP", 5, EXPECTED))
    feed.apply(order("S-1", ("KTP", 3)))  # FUTURE from PO-1 (A comes first)
    feed.apply(order("S-2", ("KTP", 2)))  # FUTURE from PO-1 too
    feed.apply(order("S-3", ("KTP", 4)))  # FUTURE from PO-2

    outcome = feed.apply(c.AnnounceSupply("PO-1", "A", "KTP", 1, EXPECTED))

    assert isinstance(outcome, Applied) and outcome.supply_cut is not None
    assert (outcome.supply_cut.shortfall, outcome.supply_cut.shipment_ids) == (
        4,
        ("S-1-R1", "S-2-R1"),
    )
    for shipment_id, noted in (("S-1-R1", True), ("S-2-R1", True), ("S-3-R1", False)):
        view = shipment_view(engine, shipment_id, T0)
        assert view is not None
        cuts = [h for h in view.history if h.detail.get("outcome") == "supply-cut"]
        assert bool(cuts) is noted
        if noted:
            assert cuts[0].event_id == f"evt-{feed.sent}"
            assert (cuts[0].detail["supply_id"], cuts[0].detail["shortfall"]) == ("PO-1", 4)
