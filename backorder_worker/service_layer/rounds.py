"""Runs a decision round against the store: lock, load, decide page by page, record.

The round reads only what the event can affect: the waiting shipments that have a line
of the event's SKUs, through an index, in release order, a page at a time. It stops
paging once the round is exhausted (nothing the event added is left). Every SKU a
candidate needs is locked before its stock is read, so two replicas never allocate the
same units (I1); a lock taken out of order may deadlock, which Postgres breaks and the
caller retries as a transient error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from backorder_worker.domain.future_supply import pool_for
from backorder_worker.domain.model import Candidate, Catalog, ReleasePolicy
from backorder_worker.domain.outcomes import Decision, Trigger
from backorder_worker.domain.release import Floors, ReleaseRound, release_order_key
from backorder_worker.service_layer.ports import OrderKey, Store

PAGE_SIZE = 500


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
    catalog = Catalog(store.locations(), store.listings(known))
    pool = pool_for(store.current_stock(known), store.supplies(known), catalog, policy, now)
    round_ = ReleaseRound(catalog, policy, pool, now, trigger, floors)

    def key(candidate: Candidate) -> tuple[int, datetime, str]:
        return release_order_key(policy.release_order, candidate)

    arriving = sorted(intake, key=key)
    decisions: list[Decision] = []

    def decide(candidate: Candidate) -> None:
        new_skus = candidate.shipment.skus - known
        if new_skus:
            store.lock_skus(new_skus)
            round_.extend(
                store.listings(new_skus), store.current_stock(new_skus), store.supplies(new_skus)
            )
            known.update(new_skus)
        for decision in round_.decide(candidate):
            store.record(decision, now)
            decisions.append(decision)

    after: OrderKey | None = None
    wants_waiting = scope.skus is None or bool(scope.skus)
    while wants_waiting and not round_.is_exhausted:
        page = store.waiting_page(scope.skus, policy.release_order, after, page_size)
        for candidate in page:
            while arriving and key(arriving[0]) < key(candidate):
                decide(arriving.pop(0))
            decide(candidate)
            if round_.is_exhausted and not arriving:
                break
        if len(page) < page_size:
            break
        last = page[-1]
        after = OrderKey(last.shipment.priority, last.entered_at, last.shipment.shipment_id)
    for candidate in arriving:
        decide(candidate)
    return decisions
