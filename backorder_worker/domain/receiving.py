"""How inventory events change the stock the worker assigns from (R10, stock.level)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from backorder_worker.domain.inventory import Supply


@dataclass(frozen=True, slots=True)
class Stowed:
    free_units: int  # units that become free current stock
    covered: int  # units that arrive for FUTURE shipments already promised them
    supply: Supply | None  # the supply after the delivery


def receive_stowed(quantity: int, supply: Supply | None) -> Stowed:
    """Units stowed against a supply first cover what was promised from it (R10)."""
    if supply is None:
        return Stowed(quantity, 0, None)
    covered = min(quantity, supply.promised)
    after = replace(
        supply, quantity=max(0, supply.quantity - quantity), promised=supply.promised - covered
    )
    return Stowed(quantity - covered, covered, after)


def free_units_from_level(available: int, assigned_since_as_of: int) -> int:
    """An absolute level knows nothing of what this worker assigned after ``as_of``."""
    return max(0, available - assigned_since_as_of)
