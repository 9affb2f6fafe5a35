"""The six examples of the backorder-release seed, as input events for the demo.

Each scenario uses its own SKUs and order, so the scenarios never share stock. Dates are
relative to today, inside the default 30-day future date limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

Event = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Scenario:
    number: int
    title: str
    expect: str  # what the seed says happens
    shipment: Event
    inventory: tuple[Event, ...]

    @property
    def order_id(self) -> str:
        return str(self.shipment[1]["order_id"])


def _sku(n: int, name: str) -> str:
    return f"{name}-{n}"


def _order(n: int, *skus: str) -> Event:
    return (
        "shipment.created",
        {
            "shipment_id": f"S-{n}00",
            "order_id": f"O-{n}00",
            "fulfillment_type": "STH",
            "lines": [
                {"line_id": f"S-{n}00-{i}", "sku": _sku(n, sku), "quantity": 5}
                for i, sku in enumerate(skus, start=1)
            ],
        },
    )


def _stow(n: int, location: str, sku: str) -> Event:
    return ("stock.stowed", {"location_id": location, "sku": _sku(n, sku), "quantity": 5})


def _supply(n: int, po: str, location: str, sku: str, quantity: int, due: date) -> Event:
    return (
        "future-inventory.updated",
        {
            "supply_id": f"PO-{n}-{po}",
            "location_id": location,
            "sku": _sku(n, sku),
            "quantity": quantity,
            "expected_date": due.isoformat(),
        },
    )


def catalog_events() -> list[Event]:
    events: list[Event] = [
        (
            "location.updated",
            {"location_id": loc, "active": True, "fulfillment_types": ["STH", "BOPIS"]},
        )
        for loc in ("A", "B")
    ]
    for n in range(1, 7):
        for sku in ("KTP", "KTP2", "KTP3"):
            events.append(
                ("listing.updated", {"sku": _sku(n, sku), "out_of_stock_behaviour": "BACKORDER"})
            )
    return events


def scenarios(today: date) -> list[Scenario]:
    def day(offset: int) -> date:
        return today + timedelta(days=offset)

    return [
        Scenario(
            1,
            "Current inventory: 5 KTP at A, 5 KTP2 at B",
            "released",
            _order(1, "KTP", "KTP2"),
            (_stow(1, "A", "KTP"), _stow(1, "B", "KTP2")),
        ),
        Scenario(
            2,
            "Current inventory: 5 KTP at A, no KTP2 anywhere",
            "stays in backorder",
            _order(2, "KTP", "KTP2"),
            (_stow(2, "A", "KTP"),),
        ),
        Scenario(
            3,
            "Future inventory: KTP 2 + 3 at A on two dates, KTP2 5 at B",
            "released",
            _order(3, "KTP", "KTP2"),
            (
                _supply(3, "1", "A", "KTP", 2, day(3)),
                _supply(3, "2", "A", "KTP", 3, day(12)),
                _supply(3, "3", "B", "KTP2", 5, day(17)),
            ),
        ),
        Scenario(
            4,
            "Future inventory: KTP at A, KTP2 has no expected date",
            "stays in backorder",
            _order(4, "KTP", "KTP2"),
            (_supply(4, "1", "A", "KTP", 5, day(5)),),
        ),
        Scenario(
            5,
            "Current + future: KTP future at A, KTP3 future at B, KTP2 now at B",
            "released",
            _order(5, "KTP", "KTP2", "KTP3"),
            (
                _supply(5, "1", "A", "KTP", 5, day(4)),
                _supply(5, "2", "B", "KTP3", 5, day(9)),
                _stow(5, "B", "KTP2"),
            ),
        ),
        Scenario(
            6,
            "Current + future: KTP future at A, KTP2 now at B, KTP3 no date",
            "stays in backorder",
            _order(6, "KTP", "KTP2", "KTP3"),
            (_supply(6, "1", "A", "KTP", 5, day(4)), _stow(6, "B", "KTP2")),
        ),
    ]
