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
3. **Only the first lock call of a transaction waits, and it holds no lock yet.** It
   takes all its locks in one statement, in ascending key order, right after the batch's
   inbox claims and before any write. Every later call (a round discovering the other SKUs
   of a waiting shipment, a cancel locking its shipment's SKUs) only *tries*: it takes
   what is free at once and, if another transaction holds any of the rest, raises
   `LockContended` without waiting at all; the caller rolls the transaction back and
   runs it again with those locks added to its first call.

4. **Raising a SKU's stock or supply also holds that SKU's *raise* lock** (shared), from
   the first lock call to commit. Deciders do not take it. It tells a round whether
   anybody may be raising a SKU right now (``rounds.admit`` passes a shipment over on an
   unlocked total only when nobody holds that SKU's raise lock), without making rounds
   wait for transactions that merely decide with the SKU.

Rule 1 with rule 3 is what makes a concurrent pair of stows for two SKUs of one shipment
safe: each stow's round needs the other's SKU; whichever gets both decides first, and the
other decides after it has committed, on its stock.

**Why no two transactions can deadlock on these locks.** Every advisory lock (SKU, raise,
location; shared or exclusive) is one key of one 64-bit key space. A transaction waits
for a key only inside its first lock call, which holds no advisory lock from before and
takes its keys in ascending order: while it waits for key k, every key it holds is
smaller than k. Call that transaction's k its *waited key*. An edge "T waits for U" means
either U holds k (then k is below U's own waited key, if U waits at all — and U can only
be waiting in its own first call), or U is queued ahead of T for the same k (Postgres
grants a lock queue in order). So along any chain of waits the waited keys never
decrease, and they stay equal only along one key's queue, from later to earlier
arrivals. A cycle would have to come back to its start with no key increased — one queue
in which each waits for one ahead of it, which has a first. There is no cycle: the
deadlock detector never fires for these locks, and a transaction past its first call
never waits for a lock at all, so it cannot be part of a cycle of them.

The inbox claims before the first call wait only for each other (an id another
transaction inserted and has not committed), in ascending id order (``claim_all``), and
a transaction that has claimed never waits for a claim again: claims cannot close a
cycle either. Rows are written under a lock that guards them: a shipment's row under its
SKUs' locks (rule 1; a cancel too, ``cancels.py``; a short pick under the SKUs it
misses, and two short picks of one shipment come from one order's partition), a SKU's
stock and supplies under its lock, a location under its own. Two writers of one row hold
a common lock, so the second waits for it in its first call or is refused in a later
one, before it reaches the row.

**Why re-runs end.** A refused later call names locks the transaction did not hold, so
each re-run's first call is strictly larger than the one before, and it waits (without
deadlock, above) for everything it was refused: a batch is re-run at most once per key it
can come to need, and those are the keys of the SKUs and locations its events and their
rounds reach. Two batches that refuse each other both run again, each with a larger
first call, and those wait for each other in key order instead.
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
    """A later lock call was refused locks another transaction holds (rule 3; it does not
    wait for them): run the whole transaction again with ``needs`` taken in its first
    lock call. Transient: a
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
    """The union of ``locks_of`` over the commands, gathered in plain sets: a union of
    frozen needs per command would copy what is gathered so far each time."""
    skus: set[str] = set()
    stocked: set[str] = set()
    changed: set[str] = set()
    raised: set[str] = set()
    for command in commands:
        match command:
            case StowStock() | SetStockLevel() | AnnounceSupply():
                skus.add(command.sku)
                stocked.add(command.location_id)
                raised.add(command.sku)
            case _:
                one = locks_of(command)
                skus |= one.skus
                stocked |= one.stocked_locations
                changed |= one.changed_locations
                raised |= one.raised_skus
    return LockNeeds(frozenset(skus), frozenset(stocked), frozenset(changed), frozenset(raised))
