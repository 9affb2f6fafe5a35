"""The examples of the backorder-release seed, each with its positive and negative case.

A shipment has five KTP and five KTP2 (and five KTP3 where the seed says so) in backorder.
"""

from __future__ import annotations

from backorder_worker.domain.fences import Fence
from backorder_worker.domain.outcomes import ReleaseKind, ShipmentStatus, WaitState

from .builders import day, decide, line, released, shipment, supply, unroutable, waiting

S100 = shipment("S-100", line("KTP", 5), line("KTP2", 5))
S200 = shipment("S-200", line("KTP", 5), line("KTP2", 5), line("KTP3", 5))


def test_current_stock_at_two_locations_releases_the_shipment_as_two_ready_children() -> None:
    decisions = decide([waiting(S100)], current={("A", "KTP"): 5, ("B", "KTP2"): 5})

    release = released(decisions)["S-100"]
    assert release.release is ReleaseKind.CURRENT
    assert release.parent_status is ShipmentStatus.REASSIGNED
    assert [(s.shipment_id, s.status, s.location_id) for s in release.shipments] == [
        ("S-100-R1", ShipmentStatus.READY, "A"),
        ("S-100-R2", ShipmentStatus.READY, "B"),
    ]
    assert [[(ln.sku, ln.quantity) for ln in s.lines] for s in release.shipments] == [
        [("KTP", 5)],
        [("KTP2", 5)],
    ]


def test_current_stock_for_only_one_item_leaves_the_shipment_in_backorder() -> None:
    decisions = decide([waiting(S100)], current={("A", "KTP"): 5})

    assert not released(decisions)
    still = unroutable(decisions, WaitState.WAITING)["S-100"]
    [reason] = [r for r in still.reasons if r.fence is Fence.COMPLETE_STOCK]
    assert (reason.sku, reason.requested, reason.assignable) == ("KTP2", 5, 0)


def test_future_supply_on_three_dates_releases_the_shipment_as_future_children() -> None:
    decisions = decide(
        [waiting(S100)],
        supplies=[
            supply("PO-1", "A", "KTP", 2, day(5, 1)),
            supply("PO-2", "A", "KTP", 3, day(5, 10)),
            supply("PO-3", "B", "KTP2", 5, day(5, 15)),
        ],
    )

    release = released(decisions)["S-100"]
    assert release.release is ReleaseKind.FUTURE
    assert release.parent_status is ShipmentStatus.REASSIGNED
    assert [(s.status, s.location_id, s.expected_date) for s in release.shipments] == [
        (ShipmentStatus.FUTURE, "A", day(5, 10)),
        (ShipmentStatus.FUTURE, "B", day(5, 15)),
    ]
    assert sorted((d.supply_id, d.quantity) for d in release.draws) == [
        ("PO-1", 2),
        ("PO-2", 3),
        ("PO-3", 5),
    ]


def test_future_supply_for_only_one_item_leaves_the_shipment_in_backorder() -> None:
    decisions = decide([waiting(S100)], supplies=[supply("PO-1", "A", "KTP", 5, day(5, 1))])

    assert not released(decisions)
    assert "S-100" in unroutable(decisions, WaitState.WAITING)


def test_current_and_future_together_release_ready_and_future_children() -> None:
    decisions = decide(
        [waiting(S200)],
        current={("B", "KTP2"): 5},
        supplies=[
            supply("PO-1", "A", "KTP", 5, day(5, 3)),
            supply("PO-2", "B", "KTP3", 5, day(5, 7)),
        ],
    )

    release = released(decisions)["S-200"]
    assert release.release is ReleaseKind.CURRENT_AND_FUTURE
    assert release.parent_status is ShipmentStatus.REASSIGNED
    assert [(s.status, s.location_id) for s in release.shipments] == [
        (ShipmentStatus.READY, "B"),
        (ShipmentStatus.FUTURE, "A"),
        (ShipmentStatus.FUTURE, "B"),
    ]


def test_current_and_future_without_any_date_for_one_item_stay_in_backorder() -> None:
    decisions = decide(
        [waiting(S200)],
        current={("B", "KTP2"): 5},
        supplies=[supply("PO-1", "A", "KTP", 5, day(5, 3))],
    )

    assert not released(decisions)
    still = unroutable(decisions, WaitState.WAITING)["S-200"]
    assert {r.sku for r in still.reasons if r.fence is Fence.COMPLETE_STOCK} == {"KTP3"}
