"""Is a given plan (e.g. the core's) one the rules allow? The same rules as ``search``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from tests.oracle.search import ODraw, is_usable, serves
from tests.oracle.world import OShipment, OWorld


def plan_problems(
    world: OWorld, shipment: OShipment, assignments: Iterable[tuple[str, ODraw]]
) -> list[str]:
    """What is wrong with a plan given as (line_id, draw) pairs; empty if nothing is.

    Checks: each draw's SKU is its line's and passes the static fences where it is drawn;
    no source is drawn beyond its free units (future: per location and SKU, summed over
    usable supplies, each draw dated like one of them); no line gets more than it asks;
    a bundle sits whole at one location from one kind, or not at all; without split, one
    source for all."""
    lines = {line.line_id: line for line in shipment.lines}
    problems: list[str] = []
    drawn: dict[tuple[str, bool, str], int] = defaultdict(int)
    per_line: dict[str, int] = defaultdict(int)
    sources_of_bundle: dict[str, set[tuple[str, bool]]] = defaultdict(set)
    sources: set[tuple[str, bool]] = set()
    pairs = list(assignments)
    for line_id, draw in pairs:
        line = lines.get(line_id)
        if line is None or line.sku != draw.sku:
            problems.append(f"draw {draw} does not belong to line {line_id}")
            continue
        if not serves(world, shipment, draw.location_id, draw.sku):
            problems.append(f"{draw.location_id} does not serve {draw.sku} for this shipment")
        source = (draw.location_id, draw.expected_date is not None)
        sources.add(source)
        drawn[(*source, draw.sku)] += draw.quantity
        per_line[line_id] += draw.quantity
        if line.bundle_id is not None:
            sources_of_bundle[line.bundle_id].add(source)
        if draw.expected_date is not None and not any(
            is_usable(world, s) and s.expected_date == draw.expected_date
            for s in world.supplies
            if (s.location_id, s.sku) == (draw.location_id, draw.sku)
        ):
            problems.append(f"{draw} is dated like no usable supply there")
    for (loc, is_future, sku), units in drawn.items():
        have = (
            sum(
                s.free
                for s in world.supplies
                if (s.location_id, s.sku) == (loc, sku) and is_usable(world, s)
            )
            if is_future
            else world.current.get((loc, sku), 0)
        )
        if units > have:
            problems.append(f"{units} {sku} drawn at {loc} (future={is_future}), {have} free")
    for line_id, units in per_line.items():
        if units > lines[line_id].quantity:
            problems.append(f"line {line_id} gets {units} of {lines[line_id].quantity}")
    for bundle_id, where in sources_of_bundle.items():
        if len(where) > 1:
            problems.append(f"bundle {bundle_id} is split over {sorted(where)}")
    for bundle_id in sources_of_bundle:
        members = [ln for ln in shipment.lines if ln.bundle_id == bundle_id]
        if any(per_line[ln.line_id] < ln.quantity for ln in members):
            problems.append(f"bundle {bundle_id} is assigned in part (R9: whole or missing)")
    if not shipment.split_allowed and len(sources) > 1:
        problems.append(f"no split, but drawn from {sorted(sources)}")
    return problems


def is_complete(shipment: OShipment, assignments: Iterable[tuple[str, ODraw]]) -> bool:
    """Every unit of every line is assigned (bundle lines partly assigned are not)."""
    got: dict[str, int] = defaultdict(int)
    for line_id, draw in assignments:
        got[line_id] += draw.quantity
    return all(got[line.line_id] >= line.quantity for line in shipment.lines)
