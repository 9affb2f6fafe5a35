"""The scenarios of issue 10: small worlds where two or three batches race.

Each builds its records once (fixed event ids), so that every schedule of it applies the
same events. Defaults: locations A and B active for STH and BOPIS, site settings at their
defaults, the batches' clock at ``records.NOW``.
"""

from __future__ import annotations

from dataclasses import replace

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
    later: list[Event] | None = None,
    cached: bool = False,
    points: Points = every_call,
) -> Scenario:
    """Set-up: the catalog, then the shipments, then ``later`` (each one batch)."""
    slug = name.replace(" ", "-")
    set_up = [ev.records(catalog, f"{slug}-catalog", SET_UP_AT)]
    if shipments:
        set_up.append(ev.records(shipments, f"{slug}-shipment", SET_UP_AT.replace(hour=10)))
    if later:
        set_up.append(ev.records(later, f"{slug}-later", SET_UP_AT.replace(hour=10, minute=30)))
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


def stow_and_level() -> Scenario:
    """S-100 needs KTP 5 + KTP2 5: a stow of KTP races an absolute level of KTP2 (defect 1)."""
    return _scenario(
        "stow and level",
        _catalog("KTP", "KTP2"),
        [ev.shipment("S-100", ("KTP", 5), ("KTP2", 5))],
        [("stow-KTP", [ev.stow("A", "KTP", 5)]), ("level-KTP2", [ev.level("B", "KTP2", 5)])],
    )


def stow_and_supply() -> Scenario:
    """S-100 needs KTP 5 + KTP2 5: a stow of KTP races a usable supply of KTP2 (defect 1)."""
    return _scenario(
        "stow and future supply",
        _catalog("KTP", "KTP2"),
        [ev.shipment("S-100", ("KTP", 5), ("KTP2", 5))],
        [
            ("stow-KTP", [ev.stow("A", "KTP", 5)]),
            ("supply-KTP2", [ev.supply("SUP-2", "B", "KTP2", 5)]),
        ],
    )


def location_switched_on(*, cached: bool = False, points: Points = every_call) -> Scenario:
    """C is inactive and S-1 waits for KTP: C is switched on while KTP is stowed at C
    (defect 2; cached: defect 3, the stow reading C from a cache filled before)."""
    return _scenario(
        "location switched on" + (" (cached)" if cached else ""),
        [*_catalog("KTP"), ev.location("C", active=False)],
        [ev.shipment("S-1", ("KTP", 1))],
        [("activate-C", [ev.location("C")]), ("stow-KTP-C", [ev.stow("C", "KTP", 1)])],
        cached=cached,
        points=points,
    )


def future_switched_on(*, cached: bool = False) -> Scenario:
    """S-1 waits for KTP 2; KTP's 1 unit of supply is not usable (future inventory off for
    the listing): the listing switches it on while 1 unit is stowed, and together they
    complete S-1 (cached: defect 3, the stow reading the listing from a cache filled
    before)."""
    return _scenario(
        "listing future switched on" + (" (cached)" if cached else ""),
        [
            *_catalog(),
            ev.listing("KTP", future=False),
            ev.supply("SUP-1", "A", "KTP", 1),
        ],
        [ev.shipment("S-1", ("KTP", 2))],
        [
            ("listing-KTP", [ev.listing("KTP", future=True)]),
            ("stow-KTP", [ev.stow("A", "KTP", 1)]),
        ],
        cached=cached,
    )


def listed_at_location(*, cached: bool = False) -> Scenario:
    """KTP is listed at A only and S-1 waits for it: a listing at C races a stow at C
    (cached: defect 3)."""
    return _scenario(
        "listed at a new location" + (" (cached)" if cached else ""),
        [*_catalog(locations=("A", "B", "C")), ev.listing("KTP", location_id="A")],
        [ev.shipment("S-1", ("KTP", 1))],
        [
            ("listing-KTP-C", [ev.listing("KTP", location_id="C")]),
            ("stow-KTP-C", [ev.stow("C", "KTP", 1)]),
        ],
        cached=cached,
    )


def supply_moved() -> Scenario:
    """S-1 needs KTP 5 + KTP2 5 and then SUP-1 brings 5 KTP: a stow of KTP2 (which
    promises SUP-1's KTP) races SUP-1 being moved to KTP3 (defect 4). (The supply comes
    after the shipment, else intake would release the KTP part at once, R8.) Once SUP-1
    has units promised, the move is rightly refused (a dead letter, supply-mismatch)."""
    scenario = _scenario(
        "supply moved to another SKU",
        _catalog("KTP", "KTP2", "KTP3"),
        [ev.shipment("S-1", ("KTP", 5), ("KTP2", 5))],
        later=[ev.supply("SUP-1", "A", "KTP", 5)],
        batches=[
            ("stow-KTP2", [ev.stow("A", "KTP2", 5)]),
            ("move-SUP-1", [ev.supply("SUP-1", "A", "KTP3", 5)]),
        ],
    )
    return replace(scenario, may_reject=frozenset({"supply-moved-to-another-SKU-move-SUP-1-1"}))


def cancel_and_stow() -> Scenario:
    """S-1 then S-2 wait for 1 KTP each: S-1 is cancelled while 1 KTP is stowed; S-1 must
    not be released once cancelled, and then S-2 must be."""
    return _scenario(
        "cancel and stow",
        _catalog("KTP"),
        [ev.shipment("S-1", ("KTP", 1)), ev.shipment("S-2", ("KTP", 1))],
        [("cancel-S-1", [ev.cancel("S-1")]), ("stow-KTP", [ev.stow("A", "KTP", 1)])],
    )


def replay_and_worker() -> Scenario:
    """`replay` applies the two stows of SPEC §5 again while the worker applies them in
    one batch: each once (I2, idempotency), and S-100 released."""
    stows = ev.records([ev.stow("A", "KTP", 5), ev.stow("B", "KTP2", 5)], "replayed", AT)
    base = spec_example()
    return Scenario("replay and worker", base.set_up, [("worker", stows), ("replay", stows)])


def replay_and_two_workers() -> Scenario:
    """Two replicas apply SPEC §5's stows, one each, while `replay` applies both again."""
    stows = ev.records([ev.stow("A", "KTP", 5), ev.stow("B", "KTP2", 5)], "replayed", AT)
    base = spec_example()
    return Scenario(
        "replay and two workers",
        base.set_up,
        [("worker-KTP", stows[:1]), ("worker-KTP2", stows[1:]), ("replay", stows)],
    )


def crossed_locks() -> Scenario:
    """S-1 needs KTP 5 + KTP2 5; C, inactive, holds 5 of each (so neither round passes S-1
    over on totals): each stow holds its SKU and then asks for the other's. Before issue 14
    a later lock call waited briefly and many orders deadlocked; now it only tries, so one
    stow's batch is refused, re-runs with both SKUs in its first call, and releases S-1."""
    return _scenario(
        "crossed locks",
        [
            *_catalog("KTP", "KTP2"),
            ev.location("C", active=False),
            ev.stow("C", "KTP", 5),
            ev.stow("C", "KTP2", 5),
        ],
        [ev.shipment("S-1", ("KTP", 5), ("KTP2", 5))],
        [("stow-KTP", [ev.stow("A", "KTP", 5)]), ("stow-KTP2", [ev.stow("B", "KTP2", 5)])],
    )
