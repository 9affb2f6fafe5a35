"""The scenarios of issue 10: small worlds where two or three batches race.

Each builds its records once (fixed event ids), so that every schedule of it applies the
same events. Defaults: locations A and B active for STH and BOPIS, site settings at their
defaults, the batches' clock at ``records.NOW``.
"""

from __future__ import annotations

from tests.integration.interleaving import records as ev
from tests.integration.interleaving.harness import Scenario
from tests.integration.interleaving.pausing import Points, every_call
from tests.integration.interleaving.records import NOW, SET_UP_AT, Event

AT = NOW.replace(hour=11)  # the raced events' time


def _scenario(
    name: str,
    catalog: list[Event],
    shipments: list[Event],
    batches: list[tuple[str, list[Event]]],
    *,
    cached: bool = False,
    points: Points = every_call,
) -> Scenario:
    slug = name.replace(" ", "-")
    set_up = [ev.records(catalog, f"{slug}-catalog", SET_UP_AT)]
    if shipments:
        set_up.append(ev.records(shipments, f"{slug}-shipment", SET_UP_AT.replace(hour=10)))
    raced = [(actor, ev.records(events, f"{slug}-{actor}", AT)) for actor, events in batches]
    return Scenario(name, set_up, raced, cached=cached, points=points)


def _catalog(*skus: str, locations: tuple[str, ...] = ("A", "B")) -> list[Event]:
    return [ev.location(loc) for loc in locations] + [ev.listing(sku) for sku in skus]


def spec_example(points: Points = every_call) -> Scenario:
    """SPEC §5 on two replicas: S-100 needs KTP 5 + KTP2 5, the two stows race (defect 1)."""
    return _scenario(
        "spec example",
        _catalog("KTP", "KTP2"),
        [ev.shipment("S-100", ("KTP", 5), ("KTP2", 5))],
        [("stow-KTP", [ev.stow("A", "KTP", 5)]), ("stow-KTP2", [ev.stow("B", "KTP2", 5)])],
        points=points,
    )
