"""Turning a plan's assignments into the shipments a release creates (R3 to R5).

One READY shipment at one location keeps the parent's id and the parent is READY. Any
other shape gives children — READY ones first, then FUTURE ones by expected date — with
ids derived from the parent's, and the parent becomes REASSIGNED.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date

from backorder_worker.domain.ids import child_shipment_id
from backorder_worker.domain.model import Line, Shipment
from backorder_worker.domain.outcomes import (
    ReleasedLine,
    ReleasedShipment,
    ReleaseKind,
    ShipmentStatus,
)
from backorder_worker.domain.route_plan import Assignment


def shape_release(
    parent: Shipment, assignments: Iterable[Assignment], preference: Mapping[str, int]
) -> tuple[tuple[ReleasedShipment, ...], ReleaseKind, ShipmentStatus]:
    groups: dict[tuple[bool, str], list[Assignment]] = defaultdict(list)
    for a in assignments:
        groups[(a.draw.supply_id is not None, a.draw.location_id)].append(a)
    line_order = {line.line_id: i for i, line in enumerate(parent.lines)}

    def group_key(key: tuple[bool, str]) -> tuple[bool, date, int]:
        is_future, location_id = key
        return is_future, _latest(groups[key]) or date.min, preference.get(location_id, 0)

    keys = sorted(groups, key=group_key)
    kinds = {is_future for is_future, _ in keys}
    release = (
        ReleaseKind.CURRENT_AND_FUTURE
        if len(kinds) == 2
        else ReleaseKind.FUTURE
        if True in kinds
        else ReleaseKind.CURRENT
    )
    keeps_parent = len(keys) == 1 and release is ReleaseKind.CURRENT
    shipments = tuple(
        ReleasedShipment(
            shipment_id=parent.shipment_id
            if keeps_parent
            else child_shipment_id(parent.shipment_id, n),
            status=ShipmentStatus.FUTURE if is_future else ShipmentStatus.READY,
            location_id=location_id,
            expected_date=_latest(groups[(is_future, location_id)]),
            lines=_merge_lines(groups[(is_future, location_id)], line_order),
        )
        for n, (is_future, location_id) in enumerate(keys, start=1)
    )
    parent_status = ShipmentStatus.READY if keeps_parent else ShipmentStatus.REASSIGNED
    return shipments, release, parent_status


def lines_of(parent: Shipment, units_by_line: Mapping[str, int]) -> tuple[Line, ...]:
    """The parent's lines cut down to the given units (lines with none left out)."""
    return tuple(
        Line(line.line_id, line.sku, units_by_line[line.line_id], line.bundle_id)
        for line in parent.lines
        if units_by_line.get(line.line_id, 0) > 0
    )


def _latest(assignments: list[Assignment]) -> date | None:
    dates = [a.draw.expected_date for a in assignments if a.draw.expected_date is not None]
    return max(dates) if dates else None


def _merge_lines(
    assignments: list[Assignment], line_order: Mapping[str, int]
) -> tuple[ReleasedLine, ...]:
    units: dict[tuple[str, str], int] = defaultdict(int)
    for a in assignments:
        units[(a.line_id, a.draw.sku)] += a.draw.quantity
    return tuple(
        ReleasedLine(line_id, sku, quantity)
        for (line_id, sku), quantity in sorted(units.items(), key=lambda kv: line_order[kv[0][0]])
    )
