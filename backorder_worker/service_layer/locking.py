"""What a transaction locks, and why the locks it takes cannot deadlock or lose a release.

The rules every transaction follows (across replicas, `replay` and `reevaluate`):

1. **To decide a shipment, hold the lock of every SKU it has.** Whoever decides it reads
   those SKUs' stock, supply and listings under their locks, so two deciders of one
   shipment are serialised, and the second one sees the first one's stock changes. No
   shipment is ever passed over on numbers read without their lock.
2. **Raising stock or supply at a location holds that location's lock shared; changing a
   location (`location.updated`) holds it exclusive.** The change then reads which SKUs
   have stock at the location after every raise there has committed, and a raise reads
   the location after every change of it has committed; whichever goes second sees the
   other, and its round re-evaluates what the pair can now complete.
3. **Only the first lock call of a transaction waits for as long as it takes.** It takes
   all its locks in one statement, in ascending key order, so two first calls cannot wait
   for each other in a cycle. A later call (a round discovering the other SKUs of a waiting
   shipment) takes what is free at once and waits only briefly (a fraction of a second,
   shorter than Postgres's deadlock timeout) for what another transaction holds; if that
   is not enough, it raises `LockContended` and the caller runs the transaction again
   with those locks added to its first call. A cycle of waits therefore ends by the brief
   timeout (Postgres's deadlock detector, run for a first call that has waited its
   second, may still catch such a cycle in its brief life and abort one transaction: a
   transient error, retried), and each re-run's first call grows, so re-runs end.

4. **Raising a SKU's stock or supply also holds that SKU's *raise* lock** (shared), from
   the first lock call to commit. Deciders do not take it. It tells a round whether
   anybody may be raising a SKU right now (``rounds.admit`` passes a shipment over on an
   unlocked total only when nobody holds that SKU's raise lock), without making rounds
   wait for transactions that merely decide with the SKU.

Rule 1 with rule 3 is what makes a concurrent pair of stows for two SKUs of one shipment
safe: each stow's round needs the other's SKU; whichever gets both decides first, and the
other decides after it has committed, on its stock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from backorder_worker.service_layer.commands import (
    AnnounceSupply,
    Command,
    SetStockLevel,
    StowStock,
    UpdateLocation,
    skus_of,
)
from backorder_worker.service_layer.errors import TransientError


@dataclass(frozen=True, slots=True)
class LockNeeds:
    """Locks to take: SKUs (exclusive), locations whose stock rises (shared), locations
    that change (exclusive; an exclusive lock of a location covers a shared need of it)."""

    skus: frozenset[str] = frozenset()
    stocked_locations: frozenset[str] = frozenset()
    changed_locations: frozenset[str] = frozenset()
    raised_skus: frozenset[str] = frozenset()  # SKUs whose stock or supply rises (rule 4)

    def __or__(self, other: LockNeeds) -> LockNeeds:
        return LockNeeds(
            self.skus | other.skus,
            self.stocked_locations | other.stocked_locations,
            self.changed_locations | other.changed_locations,
            self.raised_skus | other.raised_skus,
        )

    def __bool__(self) -> bool:
        return bool(
            self.skus or self.stocked_locations or self.changed_locations or self.raised_skus
        )

    @staticmethod
    def of_skus(skus: Iterable[str]) -> LockNeeds:
        return LockNeeds(skus=frozenset(skus))


class LockContended(TransientError):
    """A later lock call could not get locks another transaction holds (rule 3): run the
    whole transaction again with ``needs`` taken in its first lock call. Transient: a
    caller that does not re-run it at once (the batch does) retries it as any other."""

    def __init__(self, needs: LockNeeds) -> None:
        super().__init__(f"locks held elsewhere: {needs}")
        self.needs = needs


def locks_of(command: Command) -> LockNeeds:
    """What a command's handler locks, taken up front for a whole batch (rule 3)."""
    skus = skus_of(command)
    match command:
        case StowStock() | SetStockLevel() | AnnounceSupply():
            return LockNeeds(
                skus,
                stocked_locations=frozenset({command.location_id}),
                raised_skus=frozenset({command.sku}),
            )
        case UpdateLocation():
            return LockNeeds(skus, changed_locations=frozenset({command.location_id}))
    return LockNeeds(skus)


def locks_of_all(commands: Iterable[Command]) -> LockNeeds:
    needs = LockNeeds()
    for command in commands:
        needs |= locks_of(command)
    return needs
