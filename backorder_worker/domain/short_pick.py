"""A short pick (SPEC ``shipment.short-picked``): the picker found fewer units than a
released shipment holds. The missing units leave the shipment for a remainder that is
routed again (R8); the shipment keeps what was picked.

Because every short pick takes its units out of the shipment's lines, the missing units
of a line over all its short picks can never exceed what the line held: a short pick
that asks for more than is left is refused, and two short picks of one 4-unit line move
at most 4 units in all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from backorder_worker.domain.model import Line, Shipment


@dataclass(frozen=True, slots=True)
class ShortPick:
    kept: tuple[Line, ...]  # the shipment's lines with the missing units taken out
    missing: tuple[Line, ...]  # the remainder's lines

    def missing_by_sku(self) -> dict[str, int]:
        units: dict[str, int] = {}
        for line in self.missing:
            units[line.sku] = units.get(line.sku, 0) + line.quantity
        return units


class ShortPickRefused(ValueError):
    """The short pick does not fit the shipment (an input error: dead-letter it)."""


def decide_short_pick(
    shipment: Shipment,
    released_to: str | None,
    location_id: str,
    missing: Iterable[tuple[str, str, int]],  # (line_id, sku, missing units)
) -> ShortPick:
    """Splits the shipment's lines into what was picked and what is missing, or refuses:
    the pick must be at the location the shipment was released to, name its lines and
    SKUs, and miss no more units of a line than the line still holds."""
    if location_id != released_to:
        raise ShortPickRefused(
            f"shipment {shipment.shipment_id} was released to {released_to}, "
            f"not picked at {location_id}"
        )
    lines = {line.line_id: line for line in shipment.lines}
    asked: dict[str, int] = {}
    for line_id, sku, units in missing:
        line = lines.get(line_id)
        if line is None or line.sku != sku:
            raise ShortPickRefused(
                f"line {line_id} ({sku}) is not a line of shipment {shipment.shipment_id}"
            )
        asked[line_id] = asked.get(line_id, 0) + units
        if asked[line_id] > line.quantity:
            raise ShortPickRefused(
                f"line {line_id} of shipment {shipment.shipment_id} has {line.quantity} "
                f"unit(s) left to pick, fewer than {asked[line_id]} missing"
            )
    kept = tuple(
        Line(line.line_id, line.sku, line.quantity - asked.get(line.line_id, 0), line.bundle_id)
        for line in shipment.lines
        if line.quantity > asked.get(line.line_id, 0)
    )
    gone = tuple(
        Line(line.line_id, line.sku, asked[line.line_id], line.bundle_id)
        for line in shipment.lines
        if asked.get(line.line_id, 0) > 0
    )
    return ShortPick(kept, gone)


def free_after_short_pick(free: int, missing: int) -> int:
    """The picker did not find ``missing`` units the count said were there: the count was
    that much too high. The shipment's own units were already drawn from free stock, so
    the correction comes off what is still free, never below zero. (Setting the position
    to 0 would throw away units the picker never looked for.)"""
    return max(0, free - missing)
