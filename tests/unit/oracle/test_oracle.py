"""The oracle itself, on hand-made worlds whose answers can be checked by hand."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from tests.oracle.search import (
    ODraw,
    best_plan_key,
    can_complete,
    completable,
    fewest_shipments,
    key_of,
)
from tests.oracle.world import OLine, OListing, OLocation, OShipment, OSupply, OWorld

TODAY = date(2026, 5, 1)


def world(
    stock: dict[tuple[str, str], int],
    skus: Iterable[str] = "XYZ",
    locations: tuple[OLocation, ...] = (OLocation("A"), OLocation("B")),
    listings: tuple[OListing, ...] = (),
    supplies: tuple[OSupply, ...] = (),
    site_future_enabled: bool = True,
) -> OWorld:
    wide = tuple(OListing(sku, "BACKORDER") for sku in skus)
    return OWorld(
        {loc.location_id: loc for loc in locations},
        wide + listings,
        stock,
        supplies,
        TODAY,
        site_future_enabled,
    )


def sth(*lines: OLine, split: bool = True) -> OShipment:
    return OShipment("S-1", "STH", lines, None, split)


def supply(sid: str, loc: str, sku: str, free: int, days: int) -> OSupply:
    return OSupply(sid, loc, sku, free, TODAY + timedelta(days=days))


def test_the_spec_worked_example_completes_as_two_shipments_only_when_split_is_allowed() -> None:
    w = world({("A", "KTP"): 5, ("B", "KTP2"): 5}, skus=("KTP", "KTP2"))
    lines = (OLine("S-100-1", "KTP", 5), OLine("S-100-2", "KTP2", 5))
    assert can_complete(w, sth(*lines))
    assert fewest_shipments(w, sth(*lines)) == 2
    assert best_plan_key(w, sth(*lines)) == (0, 2, date.min, ((0, "A", False), (0, "B", False)))
    assert not can_complete(w, sth(*lines, split=False))
    assert best_plan_key(w, sth(*lines, split=False)) is None


def test_a_loose_line_goes_elsewhere_so_that_the_bundle_fits_issue_11() -> None:
    w = world({("A", "X"): 1, ("A", "Y"): 1, ("B", "X"): 1})
    shipment = sth(OLine("1", "X", 1), OLine("2", "X", 1, "b"), OLine("3", "Y", 1, "b"))
    assert can_complete(w, shipment)
    assert fewest_shipments(w, shipment) == 2
    without_b = world({("A", "X"): 1, ("A", "Y"): 1})
    assert not can_complete(without_b, shipment)


def test_a_bundle_is_not_split_over_locations() -> None:
    w = world({("A", "X"): 1, ("B", "Y"): 1})
    assert not can_complete(w, sth(OLine("1", "X", 1, "b"), OLine("2", "Y", 1, "b")))
    assert can_complete(w, sth(OLine("1", "X", 1), OLine("2", "Y", 1)))


def test_a_bundle_comes_from_one_kind_of_stock() -> None:
    w = world({("A", "X"): 1}, supplies=(supply("P1", "A", "Y", 1, 3),))
    assert not can_complete(w, sth(OLine("1", "X", 1, "b"), OLine("2", "Y", 1, "b")))
    assert can_complete(w, sth(OLine("1", "X", 1), OLine("2", "Y", 1)))


def test_two_locations_beat_the_greedy_three_of_issue_11() -> None:
    skus = ("U1", "U2", "U3", "U4", "U5", "U6")
    locs = (OLocation("A"), OLocation("B"), OLocation("C"))
    stock = {("A", s): 1 for s in ("U1", "U2", "U4", "U5")}
    stock |= {("B", s): 1 for s in ("U1", "U2", "U3")}
    stock |= {("C", s): 1 for s in ("U4", "U5", "U6")}
    w = world(stock, skus=skus, locations=locs)
    shipment = sth(*(OLine(f"l{i}", s, 1) for i, s in enumerate(skus)))
    assert fewest_shipments(w, shipment) == 2
    assert best_plan_key(w, shipment) == (0, 2, date.min, ((0, "B", False), (0, "C", False)))


def test_a_line_splits_by_quantity_only_when_split_is_allowed() -> None:
    w = world({("A", "X"): 2, ("B", "X"): 2})
    assert can_complete(w, sth(OLine("1", "X", 3)))
    assert not can_complete(w, sth(OLine("1", "X", 3), split=False))


def test_bopis_uses_the_pickup_location_only_and_it_must_serve_bopis() -> None:
    locs = (OLocation("A"), OLocation("B"), OLocation("C", fulfillment_types=frozenset({"STH"})))
    w = world({("A", "X"): 1, ("C", "X"): 1}, locations=locs)
    at = lambda pickup: OShipment("S", "BOPIS", (OLine("1", "X", 1),), pickup)  # noqa: E731
    assert can_complete(w, at("A"))
    assert not can_complete(w, at("B"))
    assert not can_complete(w, at("C"))
    assert not can_complete(w, at(None))
    assert can_complete(w, sth(OLine("1", "X", 1)))


def test_the_static_fences_inactive_fulfilment_type_and_not_listed() -> None:
    locs = (OLocation("A", active=False), OLocation("B", fulfillment_types=frozenset({"BOPIS"})))
    assert not can_complete(
        world({("A", "X"): 1, ("B", "X"): 1}, locations=locs), sth(OLine("1", "X", 1))
    )
    unlisted = world({("A", "Q"): 1})
    assert not can_complete(unlisted, sth(OLine("1", "Q", 1)))
    listed_at_a = world({("A", "Q"): 1}, listings=(OListing("Q", "NONE", location_id="A"),))
    assert can_complete(listed_at_a, sth(OLine("1", "Q", 1)))
    assert not can_complete(world({("Z", "X"): 1}), sth(OLine("1", "X", 1)))  # unknown location


def test_future_supply_is_usable_up_to_the_date_limit_and_not_a_day_after() -> None:
    line = OLine("1", "X", 2)
    on_the_limit = world({}, supplies=(supply("P1", "A", "X", 2, 30),))
    assert best_plan_key(on_the_limit, sth(line)) == (
        2,
        1,
        TODAY + timedelta(days=30),
        ((0, "A", True),),
    )
    assert not can_complete(world({}, supplies=(supply("P1", "A", "X", 2, 31),)), sth(line))


def test_future_supply_needs_the_site_the_listing_there_and_backorderability() -> None:
    line, po = OLine("1", "X", 1), (supply("P1", "A", "X", 1, 5),)
    assert can_complete(world({}, supplies=po), sth(line))
    assert not can_complete(world({}, supplies=po, site_future_enabled=False), sth(line))
    off_at_a = (OListing("X", "BACKORDER", future_inventory_enabled=False, location_id="A"),)
    assert not can_complete(world({}, supplies=po, listings=off_at_a), sth(line))
    none_at_a = (OListing("X", "NONE", location_id="A"),)
    assert not can_complete(world({}, supplies=po, listings=none_at_a), sth(line))
    w = OWorld(
        {"A": OLocation("A")},
        (OListing("X", "NONE"), OListing("X", "PREORDER", True, "A")),
        {},
        po,
        TODAY,
    )
    assert can_complete(w, sth(line))


def test_current_comes_before_fewest_shipments() -> None:
    w = world({("A", "X"): 1}, supplies=(supply("P1", "A", "X", 2, 3),))
    shipment = sth(OLine("1", "X", 2))
    assert fewest_shipments(w, shipment) == 1  # all of it from the supply
    assert best_plan_key(w, shipment) == (
        1,
        2,
        TODAY + timedelta(days=3),
        ((0, "A", False), (0, "A", True)),
    )
    assert best_plan_key(w, sth(OLine("1", "X", 2), split=False)) == (
        2,
        1,
        TODAY + timedelta(days=3),
        ((0, "A", True),),
    )


def test_earliest_date_then_rank_then_id_break_ties() -> None:
    locs = (OLocation("A", rank=1), OLocation("B", rank=0), OLocation("C", rank=0))
    early_at_a = (supply("P1", "A", "X", 1, 9), supply("P2", "B", "X", 1, 3))
    assert best_plan_key(
        world({}, locations=locs, supplies=early_at_a), sth(OLine("1", "X", 1))
    ) == (
        1,
        1,
        TODAY + timedelta(days=3),
        ((0, "B", True),),
    )
    everywhere = world({(loc, "X"): 1 for loc in "ABC"}, locations=locs)
    assert best_plan_key(everywhere, sth(OLine("1", "X", 1)))[3] == ((0, "B", False),)  # type: ignore[index]


def test_supplies_at_one_location_are_one_future_shipment_dated_by_the_last_unit() -> None:
    po = (supply("P1", "A", "X", 1, 2), supply("P2", "A", "X", 1, 7), supply("P3", "A", "X", 5, 20))
    key = best_plan_key(world({}, supplies=po), sth(OLine("1", "X", 2)))
    assert key == (2, 1, TODAY + timedelta(days=7), ((0, "A", True),))


def test_completable_lists_each_shipment_the_stock_alone_could_complete() -> None:
    w = world({("A", "X"): 1})
    one = OShipment("S-1", "STH", (OLine("1", "X", 1),))
    two = OShipment("S-2", "STH", (OLine("1", "X", 1),))
    big = OShipment("S-3", "STH", (OLine("1", "X", 2),))
    assert completable(w, [one, two, big]) == ["S-1", "S-2"]


def test_key_of_a_plan_given_as_draws() -> None:
    w = world({})
    draws = [
        ODraw("B", "X", 1),
        ODraw("A", "Y", 2, TODAY),
        ODraw("A", "Y", 1, TODAY + timedelta(1)),
    ]
    assert key_of(w, draws) == (3, 2, TODAY + timedelta(1), ((0, "A", True), (0, "B", False)))
