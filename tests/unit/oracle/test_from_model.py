"""The converters copy the core's values into the oracle's, field by field."""

from __future__ import annotations

from datetime import UTC, date, datetime

from backorder_worker.domain.inventory import Draw, Supply
from backorder_worker.domain.model import (
    Catalog,
    FulfillmentType,
    Line,
    Listing,
    Location,
    OutOfStockBehaviour,
    ReleasePolicy,
    Shipment,
)
from tests.oracle.from_model import draws_from_model, shipment_from_model, world_from_model
from tests.oracle.search import ODraw, can_complete
from tests.oracle.world import OLine, OListing, OLocation, OSupply


def test_a_catalog_stock_and_supplies_become_an_oracle_world() -> None:
    catalog = Catalog(
        {"A": Location("A", rank=2), "B": Location("B", False, frozenset({FulfillmentType.STH}))},
        {
            ("X", None): Listing("X", OutOfStockBehaviour.BACKORDER),
            ("X", "B"): Listing("X", OutOfStockBehaviour.NONE, False, "B"),
        },
    )
    po = Supply("P1", "A", "X", 5, date(2026, 5, 9), promised=2)
    policy = ReleasePolicy(future_inventory_enabled=False, future_date_limit_days=7)
    w = world_from_model(
        catalog, {("A", "X"): 3}, [po], policy, datetime(2026, 5, 2, 8, tzinfo=UTC)
    )
    assert w.locations == {
        "A": OLocation("A", True, frozenset({"STH", "BOPIS"}), 2),
        "B": OLocation("B", False, frozenset({"STH"}), 0),
    }
    assert set(w.listings) == {
        OListing("X", "BACKORDER", True, None),
        OListing("X", "NONE", False, "B"),
    }
    assert w.current == {("A", "X"): 3}
    assert w.supplies == (OSupply("P1", "A", "X", 3, date(2026, 5, 9)),)
    assert (w.today, w.site_future_enabled, w.future_date_limit_days) == (
        date(2026, 5, 2),
        False,
        7,
    )
    assert w.effective_listing("X", "B") == OListing("X", "NONE", False, "B")


def test_a_shipment_takes_split_from_itself_or_else_the_site() -> None:
    lines = (Line("1", "X", 2, "b"),)
    bopis = Shipment("S", "O", FulfillmentType.BOPIS, lines, pickup_location_id="A")
    converted = shipment_from_model(bopis, ReleasePolicy(split_allowed=False))
    assert converted.lines == (OLine("1", "X", 2, "b"),)
    assert (converted.fulfillment_type, converted.pickup_location_id) == ("BOPIS", "A")
    assert converted.split_allowed is False
    own = Shipment("S", "O", FulfillmentType.STH, lines, split_allowed=True)
    assert shipment_from_model(own, ReleasePolicy(split_allowed=False)).split_allowed is True


def test_draws_keep_their_source() -> None:
    draws = [Draw("A", "X", 1), Draw("B", "X", 2, "P1", date(2026, 5, 3))]
    assert draws_from_model(draws) == [ODraw("A", "X", 1), ODraw("B", "X", 2, date(2026, 5, 3))]


def test_a_converted_world_answers() -> None:
    catalog = Catalog({"A": Location("A")}, {("X", None): Listing("X")})
    w = world_from_model(catalog, {("A", "X"): 1})
    shipment = Shipment("S", "O", FulfillmentType.STH, (Line("1", "X", 1),))
    assert can_complete(w, shipment_from_model(shipment))
