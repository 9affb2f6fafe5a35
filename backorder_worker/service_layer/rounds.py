"""Runs a decision round against the store: lock, load, decide page by page, record.

The round reads only what the event can affect: the waiting shipments that have a line
of the event's SKUs, through an index, in release order, a page at a time. It stops
paging once the round is exhausted (nothing the event added is left). Every SKU a
candidate needs is locked before its stock is read — those of a whole page at once — so
two replicas never allocate the same units (I1) and never both pass over a shipment that
their two events complete together (I3); see ``locking`` for why those locks cannot
deadlock.

``run_given_round`` is the other kind: a round over candidates the caller already read (a
page of a re-evaluation), every one decided again, with no floors to stop early.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from backorder_worker.domain.future_supply import pool_for
from backorder_worker.domain.inventory import StockKey
from backorder_worker.domain.model import (
    Candidate,
    Catalog,
    PartialRelease,
    ReleaseOrder,
    ReleasePolicy,
)
from backorder_worker.domain.outcomes import Decision, Trigger
from backorder_worker.domain.release import Floors, ReleaseRound, release_order_key
from backorder_worker.service_layer.commands import (
    AnnounceSupply,
    Command,
    CreateShipment,
    ReportShortPick,
    SetStockLevel,
    StowStock,
    skus_of,
)
from backorder_worker.service_layer.holds import linked_skus
from backorder_worker.service_layer.ports import OrderKey, ReadAhead, Store

PAGE_SIZE = 500
FIRST_PAGE = 32


@dataclass(frozen=True, slots=True)
class Scope:
    """Which waiting shipments take part: none, those with these SKUs, or all (None)."""

    skus: frozenset[str] | None

    @staticmethod
    def nothing() -> Scope:
        return Scope(frozenset())

    @staticmethod
    def of(skus: Iterable[str]) -> Scope:
        return Scope(frozenset(skus))

    @staticmethod
    def everything() -> Scope:
        return Scope(None)


def run_round(
    store: Store,
    policy: ReleasePolicy,
    now: datetime,
    trigger: Trigger,
    scope: Scope,
    floors: Floors | None = None,
    intake: Sequence[Candidate] = (),
    page_size: int = PAGE_SIZE,
) -> list[Decision]:
    known = set(scope.skus or ()) | {sku for c in intake for sku in c.shipment.skus}
    store.lock_skus(known)
    if not intake and scope.skus is not None and not store.waiting_skus(scope.skus):
        return []  # nobody waits for these SKUs: the common case, one cached answer
    if not policy.allow_skip and scope.skus is not None:
        scope = Scope.of(linked_skus(store, known, policy.release_order))  # see holds.py
        store.lock_skus(scope.skus or ())
        known.update(scope.skus or ())
    catalog = Catalog(store.locations(), store.listings(known))
    pool = pool_for(store.current_stock(known), store.supplies(known), catalog, policy, now)
    round_ = ReleaseRound(catalog, policy, pool, now, trigger, floors)

    def key(candidate: Candidate) -> tuple[int, datetime, str]:
        return release_order_key(policy.release_order, candidate)

    arriving = sorted(intake, key=key)
    decisions: list[Decision] = []

    def admit(page: Sequence[Candidate]) -> list[Candidate]:
        """The page's shipments the round may decide, with the SKUs they add locked and
        read, once for the whole page (``locking`` rule 1: a shipment is decided only on
        stock read under the locks of all its SKUs; the lock only tries, rule 3).

        A shipment short of a SKU the event did not raise is passed over *without* that
        SKU's lock when, first, nobody holds that SKU's raise lock (``locking`` rule 4)
        and, after that, its unlocked total (all stock and supply, usable or not) is
        short. Why no concurrent writer can make that lose a release: only a transaction
        raising the SKU's stock or supply raises its total, and it holds the SKU's raise
        lock from before the raise until commit. A raise that committed before the total
        was read is in it. Any other raiser took its raise lock after the check, so after
        this transaction took the raise lock of the SKU this event raised, which it holds
        until commit: when that raiser's round reaches the shipment, its own check finds
        this SKU being raised, so it does not pass the shipment over; it locks this SKU
        (waiting for this commit, or running again with it first) and decides the
        shipment on both raises. Catalog changes cannot raise a total. Check first, read
        second: in the other order a raiser could commit between the two and both sides
        would pass the shipment over (the defect of b384810). Locations are read again
        after new locks: a location switched on by a transaction that had to wait for
        them is then seen (rule 2)."""
        new_skus = {sku for candidate in page for sku in candidate.shipment.skus} - known
        totals: dict[str, int] = {}
        if new_skus and round_.floors:
            totals = store.stock_totals(store.skus_raised_by_nobody(new_skus))
        admitted = [c for c in page if not _short_elsewhere(c, policy, totals)]
        needed = {sku for candidate in admitted for sku in candidate.shipment.skus} - known
        if needed:
            store.lock_skus(needed)
            round_.extend(
                store.listings(needed),
                store.current_stock(needed),
                store.supplies(needed),
                locations=store.locations(),
            )
            known.update(needed)
        return admitted

    def decide(candidate: Candidate) -> None:
        for decision in round_.decide(candidate):
            store.record(decision, now)
            decisions.append(decision)

    after: OrderKey | None = None
    wants_waiting = scope.skus is None or bool(scope.skus)
    size = min(FIRST_PAGE, page_size)  # most rounds end within a few shipments
    while wants_waiting and not round_.is_exhausted:
        page = store.waiting_page(scope.skus, policy.release_order, after, size)
        admitted = {c.shipment.shipment_id for c in admit(page)}
        for candidate in page:
            while arriving and key(arriving[0]) < key(candidate):
                decide(arriving.pop(0))
            if candidate.shipment.shipment_id in admitted:
                decide(candidate)
            if round_.is_exhausted and not arriving:
                break
        if len(page) < size:
            break
        size = min(size * 4, page_size)
        last = page[-1]
        after = OrderKey(last.shipment.priority, last.entered_at, last.shipment.shipment_id)
    for candidate in arriving:
        decide(candidate)
    return decisions


def _short_elsewhere(candidate: Candidate, policy: ReleasePolicy, totals: dict[str, int]) -> bool:
    """Short of a SKU with these totals (the SKUs the round has not read), where that
    means the round passes it over: skipping allowed, and no partial release of it."""
    if policy.partial_release is not PartialRelease.NONE and policy.allows_split(
        candidate.shipment
    ):
        return False
    need: dict[str, int] = {}
    for line in candidate.shipment.lines:
        need[line.sku] = need.get(line.sku, 0) + line.quantity
    return any(sku in totals and totals[sku] < units for sku, units in need.items())


def read_ahead_for(
    commands: Iterable[Command], waited_for: Iterable[str], order: ReleaseOrder
) -> ReadAhead:
    """What a batch of these commands will read one event at a time: the listings of the
    SKUs it decides for (those somebody waits for, and every SKU of an event that is not a
    plain stow), the first page of the waiting shipments of every SKU that a stock event
    raises and somebody waits for, the shipments that intake and short picks look up, the
    supplies looked up by id."""
    commands = list(commands)
    waited = set(waited_for)
    decided = waited.union(*(skus_of(c) for c in commands if not isinstance(c, StowStock)))
    raised = {c.sku for c in commands if isinstance(c, StowStock | SetStockLevel | AnnounceSupply)}
    shipments = {c.shipment_id for c in commands if isinstance(c, CreateShipment | ReportShortPick)}
    supplies = {
        c.supply_id
        for c in commands
        if isinstance(c, StowStock | AnnounceSupply) and c.supply_id is not None
    }
    return ReadAhead(
        listings=frozenset(decided),
        first_pages=frozenset(raised & waited),
        order=order,
        page_size=FIRST_PAGE,
        shipment_ids=frozenset(shipments),
        supply_ids=frozenset(supplies),
    )


@dataclass(frozen=True, slots=True)
class Withheld:
    """Units kept out of a round's pool although the store still shows them free: what the
    earlier transactions of a walk over several (``reevaluation``) hold or, in a dry run,
    drew without committing. Current units by position, future units by supply id."""

    current: Mapping[StockKey, int] = field(default_factory=dict)
    supplies: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GivenRound:
    decisions: list[Decision]
    taken: dict[StockKey, int]  # current units the round took from its pool: draws and holds
    taken_supplies: dict[str, int] = field(default_factory=dict)  # the same, by supply id


def run_given_round(
    store: Store,
    policy: ReleasePolicy,
    now: datetime,
    trigger: Trigger,
    candidates: Sequence[Candidate],
    withheld: Withheld | None = None,
) -> GivenRound:
    """A round over exactly these (waiting) candidates, in release order, without floors:
    every one is decided again. All their SKUs are locked first, in one call, so two such
    rounds cannot deadlock each other; nothing is read from the waiting room."""
    withheld = withheld or Withheld()
    skus = {sku for candidate in candidates for sku in candidate.shipment.skus}
    store.lock_skus(skus)
    catalog = Catalog(store.locations(), store.listings(skus))
    current = {
        key: max(0, units - withheld.current.get(key, 0))
        for key, units in store.current_stock(skus).items()
    }
    supplies = [
        replace(s, promised=s.promised + withheld.supplies.get(s.supply_id, 0))
        for s in store.supplies(skus)
    ]
    pool = pool_for(current, supplies, catalog, policy, now)
    supplied = pool.supply_left()
    round_ = ReleaseRound(catalog, policy, pool, now, trigger)
    decisions: list[Decision] = []
    for candidate in sorted(candidates, key=lambda c: release_order_key(policy.release_order, c)):
        for decision in round_.decide(candidate):
            store.record(decision, now)
            decisions.append(decision)
    taken = {key: units - pool.current(*key) for key, units in current.items()}
    left = pool.supply_left()
    taken_supplies = {sid: units - left[sid] for sid, units in supplied.items()}
    return GivenRound(
        decisions,
        {key: units for key, units in taken.items() if units > 0},
        {sid: units for sid, units in taken_supplies.items() if units > 0},
    )
