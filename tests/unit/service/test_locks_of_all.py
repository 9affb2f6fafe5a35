"""A batch's first lock call takes the union of what each of its events' handlers locks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import reduce

from backorder_worker.domain.model import FulfillmentType, Line, OutOfStockBehaviour
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.locking import LockNeeds, locks_of, locks_of_all

COMMANDS: list[c.Command] = [
    c.StowStock("A", "KTP", 1),
    c.StowStock("B", "KTP", 1, "S1"),
    c.SetStockLevel("C", "MUG", 4, datetime(2026, 5, 1, tzinfo=UTC)),
    c.AnnounceSupply("S2", "D", "CUP", 3, date(2026, 6, 1)),
    c.UpdateListing("PEN", OutOfStockBehaviour.NONE),
    c.UpdateLocation("A", True, frozenset({FulfillmentType.STH})),
    c.CreateShipment("s1", "o1", FulfillmentType.STH, (Line("1", "KTP", 1), Line("2", "INK", 2))),
    c.ReportShortPick("s1", "o1", "A", (c.ShortPickedLine("2", "INK", 1),)),
    c.CancelShipment("s1", "o1"),
]


def test_the_batch_locks_the_union_of_its_events_locks() -> None:
    expected = reduce(LockNeeds.__or__, map(locks_of, COMMANDS), LockNeeds())
    assert locks_of_all(COMMANDS) == expected
    assert locks_of_all([]) == LockNeeds()
    for command in COMMANDS:
        assert locks_of_all([command]) == locks_of(command)
