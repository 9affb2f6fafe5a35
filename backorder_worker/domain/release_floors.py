"""What keeps a decision round cheap: the pool's levels before the event (``Floors``).

A waiting shipment could not be completed before the event (I3 held), so once no SKU it
needs is above its floor, it cannot be completed now either, and the round skips it
without output; so is one that is short of a SKU the event did not raise. ``raised_skus``
is the set of SKUs the event (and whatever the round has seen since) lifted above their
floors; when it is empty, the rest of the round can release nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from backorder_worker.domain.inventory import StockKey, StockPool


@dataclass(frozen=True, slots=True)
class Floors:
    """Pool levels before the event, for the positions the event raised."""

    current: Mapping[StockKey, int]
    future: Mapping[StockKey, int]


def raised_skus(floors: Floors, pool: StockPool) -> set[str]:
    """The SKUs some position of which is above its floor in ``pool`` now."""
    raised = {sku for (loc, sku), floor in floors.current.items() if pool.current(loc, sku) > floor}
    raised.update(
        sku for (loc, sku), floor in floors.future.items() if pool.future(loc, sku) > floor
    )
    return raised
