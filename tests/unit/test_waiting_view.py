"""How the `waiting` command reads durations and shows ages and tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backorder_worker.entrypoints.commands.waiting import parse_duration
from backorder_worker.entrypoints.views import age, table

NOW = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3d", timedelta(days=3)),
        ("12h", timedelta(hours=12)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("90m", timedelta(minutes=90)),
        ("2w", timedelta(weeks=2)),
        (" 1D 6H ", timedelta(days=1, hours=6)),
    ],
)
def test_a_duration_is_a_sum_of_numbers_with_units(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "3", "d3", "3x", "3d-1h", "three days"])
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_an_age_shows_its_two_largest_units() -> None:
    assert age(NOW - timedelta(days=3, hours=4, minutes=5), NOW) == "3d 4h"
    assert age(NOW - timedelta(hours=2, minutes=7), NOW) == "2h 7m"
    assert age(NOW - timedelta(seconds=42), NOW) == "42s"
    assert age(None, NOW) == "-"


def test_a_table_aligns_its_columns_and_cuts_long_cells() -> None:
    text = table(("ID", "NOTE"), [("S-1", "short"), ("S-22", "x" * 20)], width=10)

    assert text.splitlines() == ["ID    NOTE", "S-1   short", "S-22  xxxxxxxxx…"]
