"""Re-evaluation (R4, the ``reevaluate`` command and the daily job): every waiting shipment
decided again, now, without an event asking for it.

Supply announced beyond ``future_date_limit_days`` becomes usable as days pass, and a
settings change may free shipments no event will touch. The walk reads the waiting room
in release order (R7), a page at a time, and decides each page in a transaction of its
own, so a million waiting shipments are never one transaction:

1. open a transaction; read the page strictly after the cursor (an index range);
2. lock every SKU of the page, decide its shipments in one round, record the decisions
   and their outbox rows; commit (a dry run rolls back instead);
3. move the cursor to the page's last key and hand the page to ``after_page`` (the
   caller publishes its outbox rows there).

A released shipment leaves the room, but the cursor is a key, not an offset, so nothing
is skipped or repeated. A split-off (R3) enters the room behind its parent: it was
decided with it and is not decided again. What earlier pages hold (``allow_skip`` off)
or drew in a dry run is withheld from the later pages' pools, as in one round.

The output ids derive from ``run_id`` (the trigger): running the same run again, after a
crash, republishes the same ids. Transient faults are the caller's to classify: ``retry``
is called with each page's attempt and may run it again; a failed attempt has rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial

from backorder_worker.domain.model import Candidate, ReleasePolicy
from backorder_worker.domain.outcomes import Decision, ShipmentReleased, Trigger, WaitState
from backorder_worker.service_layer.errors import Retry, run_once
from backorder_worker.service_layer.ports import OrderKey, UnitOfWork
from backorder_worker.service_layer.rounds import PAGE_SIZE, Withheld, run_given_round

REEVALUATE = "reevaluate"  # the trigger type of every output of a re-evaluation


@dataclass(frozen=True, slots=True)
class ReevaluationSummary:
    """Decisions by kind; a partial release counts once released and its split-off once
    still waiting, so the kinds may add up to more than ``evaluated``."""

    evaluated: int = 0
    released: int = 0
    still_waiting: int = 0
    unroutable: int = 0

    def __add__(self, other: ReevaluationSummary) -> ReevaluationSummary:
        return ReevaluationSummary(
            self.evaluated + other.evaluated,
            self.released + other.released,
            self.still_waiting + other.still_waiting,
            self.unroutable + other.unroutable,
        )


@dataclass(frozen=True, slots=True)
class PageDone:
    number: int  # from 1
    summary: ReevaluationSummary  # of this page
    decisions: list[Decision]
    outbox_ids: list[int]  # the rows to publish; empty on a dry run


@dataclass
class _Walk:
    after: OrderKey | None = None
    withheld: Withheld = field(default_factory=Withheld)
    decided: set[str] = field(default_factory=set)  # split-offs made by this walk


@dataclass(frozen=True, slots=True)
class _Page:
    read: list[Candidate]
    decided: list[Candidate]
    decisions: list[Decision]
    taken: dict[tuple[str, str], int]
    outbox_ids: list[int]
    taken_supplies: dict[str, int]


def reevaluate(
    uow: UnitOfWork,
    policy: ReleasePolicy,
    now: datetime,
    run_id: str,
    *,
    skus: Iterable[str] | None = None,
    dry_run: bool = False,
    page_size: int = PAGE_SIZE,
    retry: Retry = run_once,
    after_page: Callable[[PageDone], None] | None = None,
) -> ReevaluationSummary:
    """Decides every waiting shipment (or those with a line of ``skus``) again at ``now``."""
    if page_size <= 0:
        raise ValueError("page_size must be positive")
    scope = None if skus is None else frozenset(skus)
    trigger = Trigger(run_id, REEVALUATE)
    walk, total, number = _Walk(), ReevaluationSummary(), 0
    while scope is None or scope:
        attempt = partial(_page, uow, policy, now, trigger, scope, walk, page_size, dry_run)
        page = retry(attempt)
        number += 1
        summary = _summary(page)
        total += summary
        _advance(walk, page, dry_run)
        if after_page is not None:
            after_page(PageDone(number, summary, page.decisions, page.outbox_ids))
        if len(page.read) < page_size:
            break
    return total


def _page(
    uow: UnitOfWork,
    policy: ReleasePolicy,
    now: datetime,
    trigger: Trigger,
    scope: frozenset[str] | None,
    walk: _Walk,
    page_size: int,
    dry_run: bool,
) -> _Page:
    try:
        with uow() as store:
            read = store.waiting_page(scope, policy.release_order, walk.after, page_size)
            fresh = [c for c in read if c.shipment.shipment_id not in walk.decided]
            if not fresh:
                return _Page(read, [], [], {}, [], {})
            round_ = run_given_round(store, policy, now, trigger, fresh, walk.withheld)
            page = _Page(
                read,
                fresh,
                round_.decisions,
                round_.taken,
                store.outbox_ids(),
                round_.taken_supplies,
            )
            if dry_run:
                raise _RolledBack(page)
        return page
    except _RolledBack as rolled_back:
        return replace(rolled_back.page, outbox_ids=[])  # the rows were never written


def _advance(walk: _Walk, page: _Page, dry_run: bool) -> None:
    """Moves the cursor past the page and carries what later pages must not use."""
    if page.read:
        last = page.read[-1]
        walk.after = OrderKey(last.shipment.priority, last.entered_at, last.shipment.shipment_id)
    current, supplies = dict(walk.withheld.current), dict(walk.withheld.supplies)
    drawn: dict[tuple[str, str], int] = {}
    for decision in page.decisions:
        if not isinstance(decision, ShipmentReleased):
            continue
        if decision.split_off is not None:
            walk.decided.add(decision.split_off.shipment.shipment_id)
        for draw in decision.draws:
            if draw.supply_id is None:
                key = (draw.location_id, draw.sku)
                drawn[key] = drawn.get(key, 0) + draw.quantity
            elif dry_run:  # committed draws are in the store already
                supplies[draw.supply_id] = supplies.get(draw.supply_id, 0) + draw.quantity
    for key, units in page.taken.items():
        kept = units if dry_run else units - drawn.get(key, 0)  # holds (allow_skip off)
        if kept > 0:
            current[key] = current.get(key, 0) + kept
    promised: dict[str, int] = {}  # the page's supply draws (dry run: counted above)
    for decision in page.decisions:
        if isinstance(decision, ShipmentReleased):
            for draw in decision.draws:
                if draw.supply_id is not None:
                    promised[draw.supply_id] = promised.get(draw.supply_id, 0) + draw.quantity
    for supply_id, units in page.taken_supplies.items():
        held = units - promised.get(supply_id, 0)  # holds of future supply (allow_skip off)
        if held > 0:
            supplies[supply_id] = supplies.get(supply_id, 0) + held
    walk.withheld = Withheld(current, supplies)


def _summary(page: _Page) -> ReevaluationSummary:
    released = sum(isinstance(d, ShipmentReleased) for d in page.decisions)
    waiting = sum(
        not isinstance(d, ShipmentReleased) and d.state is WaitState.WAITING for d in page.decisions
    )
    return ReevaluationSummary(
        evaluated=len(page.decided),
        released=released,
        still_waiting=waiting,
        unroutable=len(page.decisions) - released - waiting,
    )


class _RolledBack(Exception):
    """Ends a dry run's transaction with a rollback, carrying what it decided."""

    def __init__(self, page: _Page) -> None:
        super().__init__("dry run")
        self.page = page
