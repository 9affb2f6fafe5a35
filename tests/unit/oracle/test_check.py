"""The oracle's plan checker finds each kind of rule a plan can break."""

from __future__ import annotations

from datetime import date

from tests.oracle.check import is_complete, plan_problems
from tests.oracle.search import ODraw
from tests.oracle.world import OLine, OListing, OLocation, OShipment, OSupply, OWorld

DAY = date(2026, 5, 3)
WORLD = OWorld(
    {"A": OLocation("A"), "B": OLocation("B")},
    (OListing("X", "BACKORDER"), OListing("Y", "BACKORDER")),
    {("A", "X"): 2, ("A", "Y"): 1, ("B", "X"): 1},
    (OSupply("P1", "B", "Y", 1, DAY),),
)
BUNDLE = OShipment("S", "STH", (OLine("1", "X", 1, "b"), OLine("2", "Y", 1, "b")))


def test_a_plan_within_the_rules_has_no_problem() -> None:
    pairs = [("1", ODraw("A", "X", 1)), ("2", ODraw("A", "Y", 1))]
    assert plan_problems(WORLD, BUNDLE, pairs) == []
    assert is_complete(BUNDLE, pairs)


def test_a_bundle_over_two_sources_or_in_part_is_a_problem() -> None:
    split = [("1", ODraw("B", "X", 1)), ("2", ODraw("A", "Y", 1))]
    assert any("split over" in p for p in plan_problems(WORLD, BUNDLE, split))
    kinds = [("1", ODraw("B", "X", 1)), ("2", ODraw("B", "Y", 1, DAY))]
    assert any("split over" in p for p in plan_problems(WORLD, BUNDLE, kinds))
    half = [("1", ODraw("A", "X", 1))]
    assert any("in part" in p for p in plan_problems(WORLD, BUNDLE, half))


def test_drawing_more_than_is_free_or_than_the_line_asks_is_a_problem() -> None:
    s = OShipment("S", "STH", (OLine("1", "X", 3),))
    assert any("free" in p for p in plan_problems(WORLD, s, [("1", ODraw("B", "X", 2))]))
    assert any("gets 4" in p for p in plan_problems(WORLD, s, [("1", ODraw("A", "X", 4))]))


def test_a_fenced_location_an_undated_supply_and_a_split_without_leave_are_problems() -> None:
    bopis = OShipment("S", "BOPIS", (OLine("1", "X", 1),), pickup_location_id="B")
    assert any(
        "does not serve" in p for p in plan_problems(WORLD, bopis, [("1", ODraw("A", "X", 1))])
    )
    s = OShipment("S", "STH", (OLine("1", "Y", 1),))
    wrong_day = [("1", ODraw("B", "Y", 1, date(2026, 5, 4)))]
    assert any("dated like no" in p for p in plan_problems(WORLD, s, wrong_day))
    whole = OShipment("S", "STH", (OLine("1", "X", 2),), split_allowed=False)
    two = [("1", ODraw("A", "X", 1)), ("1", ODraw("B", "X", 1))]
    assert any("no split" in p for p in plan_problems(WORLD, whole, two))
    assert plan_problems(WORLD, whole, [("1", ODraw("A", "X", 2))]) == []
