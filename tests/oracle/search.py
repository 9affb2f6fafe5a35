"""Exhaustive search over every plan of a small shipment (SPEC §2, R1-R4, R6, R9).

A *plan* gives every unit of the shipment a *source*: a location's current stock, or its
usable future supply. Every plan that obeys the rules is enumerated; nothing is greedy.

Rules encoded, and the choices made where SPEC is silent (each follows
``domain/routing.py``'s documented behaviour):

- Static fences (R2): a location serves a SKU of a shipment only if it is known and
  active, serves the fulfilment type, is the pickup location for BOPIS (R3), and lists the
  SKU: the per-location listing overrides the SKU-wide one (R1); with neither it is not
  listed.
- Future supply (R1, R4) is usable only if the site setting and the *effective* listing at
  the supply's location have future inventory on, the listing is BACKORDER or PREORDER
  there, the supply has free units, and its expected date is at most today + the limit.
- Split allowed: a loose line may be split by quantity over any sources (locations, and
  current and future at one location, R5). A bundle (R9) is placed whole at one location
  from one kind of stock (all current or all future).
- No split: the whole shipment at one location, all current or all future (one shipment).
- The resulting shipments are the plan's groups (location, current|future): future units
  at one location form one FUTURE shipment whatever supplies they come from, and its
  expected date is the latest one it uses. Supplies at a location are drawn earliest
  first: that never makes a plan worse, so the other orders need not be enumerated.

R6 preference key of a plan (smaller is better), compared as a tuple:
``(future units, shipments, latest expected date or date.min, sorted (rank, location id,
is_future) of its shipments)`` — current over future means as few units from future supply
as possible (R5: current is always used first); then fewest shipments; then the earliest
date the last future unit arrives; then the best-ranked locations, by id on ties.

Because a plan's key depends only on how many units it draws from each (location, kind,
SKU), the search keeps the set of reachable *remaining stock* states after each part, which
is exhaustive and small for the worlds it is meant for (≤ 6 lines, ≤ 4 locations, ≤ 3
supplies). It is plainly correct, not fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from tests.oracle.world import BACKORDERABLE, OShipment, OSupply, OWorld

Source = tuple[str, bool]  # (location_id, is_future)
Position = tuple[str, bool, str]  # (location_id, is_future, sku)
PlanKey = tuple[int, int, date, tuple[tuple[int, str, bool], ...]]


@dataclass(frozen=True)
class ODraw:
    """Units of one SKU from one source; ``expected_date`` None means current stock."""

    location_id: str
    sku: str
    quantity: int
    expected_date: date | None = None


def can_complete(world: OWorld, shipment: OShipment) -> bool:
    """Some plan assigns every unit of the shipment from free current and usable future."""
    return bool(_complete_plans(world, shipment))


def fewest_shipments(world: OWorld, shipment: OShipment) -> int | None:
    """The fewest shipments any complete plan results in; None if no plan is complete.

    This ignores R6's first preference (current over future): the best plan by R6 may
    have more shipments than this. Compare a planner with ``best_plan_key``."""
    keys = [key[1] for key in _complete_plans(world, shipment)]
    return min(keys) if keys else None


def best_plan_key(world: OWorld, shipment: OShipment) -> PlanKey | None:
    """The R6 key (see the module docstring) of the best complete plan; None if none."""
    keys = _complete_plans(world, shipment)
    return min(keys) if keys else None


def completable(world: OWorld, shipments: Iterable[OShipment]) -> list[str]:
    """Ids of the shipments that the world's free stock could complete, each alone (I3)."""
    return [s.shipment_id for s in shipments if can_complete(world, s)]


def key_of(world: OWorld, draws: Iterable[ODraw]) -> PlanKey:
    """The R6 key of a plan given by its draws (e.g. the core's plan, converted)."""
    groups: set[Source] = set()
    future_units, latest = 0, date.min
    for draw in draws:
        if draw.quantity <= 0:
            continue
        is_future = draw.expected_date is not None
        groups.add((draw.location_id, is_future))
        if draw.expected_date is not None:
            future_units += draw.quantity
            latest = max(latest, draw.expected_date)
    where = tuple(sorted((_rank(world, loc), loc, is_future) for loc, is_future in groups))
    return future_units, len(groups), latest, where


# --- the rules ---------------------------------------------------------------------------


def serves(world: OWorld, shipment: OShipment, location_id: str, sku: str) -> bool:
    """Every static fence (R2, R3 for BOPIS) passes for this location and SKU."""
    location = world.locations.get(location_id)
    if location is None or not location.active:
        return False
    if shipment.fulfillment_type not in location.fulfillment_types:
        return False
    if shipment.fulfillment_type == "BOPIS" and location_id != shipment.pickup_location_id:
        return False
    return world.effective_listing(sku, location_id) is not None


def is_usable(world: OWorld, supply: OSupply) -> bool:
    """R1, R4: future inventory on for the site and the listing there, backorderable there,
    free units, and due within the date limit."""
    if not world.site_future_enabled or supply.free <= 0:
        return False
    listing = world.effective_listing(supply.sku, supply.location_id)
    if listing is None or not listing.future_inventory_enabled:
        return False
    if listing.behaviour not in BACKORDERABLE:
        return False
    return supply.expected_date <= world.today + timedelta(days=world.future_date_limit_days)


# --- the search --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    need: tuple[tuple[str, int], ...]  # (sku, units), one entry per SKU
    whole: bool  # a bundle, or any part without split: one source for all of it


def _parts(shipment: OShipment) -> list[_Part]:
    bundles: dict[str, dict[str, int]] = {}
    parts: list[_Part] = []
    for line in shipment.lines:
        if line.quantity <= 0:
            continue
        if line.bundle_id is None:
            parts.append(_Part(((line.sku, line.quantity),), whole=False))
        else:
            need = bundles.setdefault(line.bundle_id, {})
            need[line.sku] = need.get(line.sku, 0) + line.quantity
    parts.extend(_Part(tuple(sorted(need.items())), whole=True) for need in bundles.values())
    return parts


class _Stock:
    """The free units per position the shipment could draw, and the supplies' dates."""

    def __init__(self, world: OWorld, shipment: OShipment) -> None:
        skus = {line.sku for line in shipment.lines}
        units: dict[Position, int] = {}
        self.supplies: dict[tuple[str, str], list[OSupply]] = {}
        for (location_id, sku), free in world.current.items():
            if sku in skus and free > 0 and serves(world, shipment, location_id, sku):
                units[(location_id, False, sku)] = free
        for supply in world.supplies:
            loc, sku = supply.location_id, supply.sku
            if sku in skus and is_usable(world, supply) and serves(world, shipment, loc, sku):
                units[(loc, True, sku)] = units.get((loc, True, sku), 0) + supply.free
                self.supplies.setdefault((loc, sku), []).append(supply)
        for listed in self.supplies.values():
            listed.sort(key=lambda s: (s.expected_date, s.supply_id))
        self.positions: list[Position] = sorted(units)
        self.index = {position: i for i, position in enumerate(self.positions)}
        self.initial = tuple(units[p] for p in self.positions)
        self.sources: list[Source] = sorted({(loc, fut) for loc, fut, _ in self.positions})

    def draws(self, state: tuple[int, ...]) -> list[ODraw]:
        """The draws that lead from the initial stock to ``state``, supplies earliest first."""
        draws = []
        for (loc, is_future, sku), before, after in zip(
            self.positions, self.initial, state, strict=True
        ):
            units = before - after
            if units <= 0:
                continue
            if not is_future:
                draws.append(ODraw(loc, sku, units))
                continue
            for supply in self.supplies[(loc, sku)]:
                take = min(units, supply.free)
                if take > 0:
                    draws.append(ODraw(loc, sku, take, supply.expected_date))
                units -= take
        return draws


def _complete_plans(world: OWorld, shipment: OShipment) -> set[PlanKey]:
    """The R6 keys of every complete plan (an empty set: no plan completes it)."""
    stock = _Stock(world, shipment)
    parts = _parts(shipment)
    if not shipment.split_allowed:
        whole = [_Part(_total_need(parts), whole=True)]
        finals = {
            s for src in stock.sources for s in _place_whole(stock, stock.initial, src, whole)
        }
        if not parts:
            finals = {stock.initial}  # nothing to place: the empty plan is complete
    else:
        states = {stock.initial}
        for part in parts:
            states = {after for state in states for after in _place(stock, state, part)}
        finals = states
    return {key_of(world, stock.draws(state)) for state in finals}


def _total_need(parts: list[_Part]) -> tuple[tuple[str, int], ...]:
    need: dict[str, int] = {}
    for part in parts:
        for sku, units in part.need:
            need[sku] = need.get(sku, 0) + units
    return tuple(sorted(need.items()))


def _place_whole(
    stock: _Stock, state: tuple[int, ...], source: Source, parts: list[_Part]
) -> Iterator[tuple[int, ...]]:
    after = list(state)
    for part in parts:
        for sku, units in part.need:
            i = stock.index.get((*source, sku))
            if i is None or after[i] < units:
                return
            after[i] -= units
    yield tuple(after)


def _place(stock: _Stock, state: tuple[int, ...], part: _Part) -> Iterator[tuple[int, ...]]:
    """Every state after placing the part: whole at one source, or a loose line split by
    quantity over any sources that hold its SKU."""
    if part.whole:
        for source in stock.sources:
            yield from _place_whole(stock, state, source, [part])
        return
    ((sku, units),) = part.need
    slots = [stock.index[p] for p in stock.positions if p[2] == sku]
    for split in _distributions(units, [state[i] for i in slots]):
        after = list(state)
        for i, taken in zip(slots, split, strict=True):
            after[i] -= taken
        yield tuple(after)


def _distributions(units: int, caps: list[int]) -> Iterator[tuple[int, ...]]:
    """Every way to take exactly ``units`` from slots holding ``caps``."""
    if not caps:
        if units == 0:
            yield ()
        return
    if sum(caps) < units:
        return
    for first in range(min(units, caps[0]) + 1):
        for rest in _distributions(units - first, caps[1:]):
            yield (first, *rest)


def _rank(world: OWorld, location_id: str) -> int:
    location = world.locations.get(location_id)
    return location.rank if location is not None else 0
