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


@dataclass(frozen=True, slots=True)
class SupplyCut:
    """A supply announced again with fewer units than it has promised to FUTURE shipments.

    A release cannot be taken back (I2): the FUTURE shipments keep their promise, and the
    worker says that some of it is no longer covered (a warning, a metric, a history row
    on each shipment that holds units of the supply)."""

    supply_id: str
    promised: int
    quantity: int  # what the supply holds now
    shipment_ids: tuple[str, ...]  # the FUTURE shipments promised units of it
    quantity_before: int = 0  # what it held before this update

    @property
    def shortfall(self) -> int:
        """Promised units the supply no longer covers."""
        return self.promised - self.quantity

    @property
    def newly_uncovered(self) -> int:
        """Of the shortfall, the units this update uncovered (an earlier cut had the rest)."""
        return self.shortfall - max(0, self.promised - self.quantity_before)


def cuts_promises(before: Supply | None, quantity: int) -> bool:
    """Whether announcing ``quantity`` lowers the supply and leaves promises uncovered."""
    return before is not None and quantity < before.quantity and quantity < before.promised
