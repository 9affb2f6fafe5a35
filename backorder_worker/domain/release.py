"""The decision round: which waiting (or arriving) shipments an event releases (R2 to R13).

A round walks its candidates in waiting-room order (R7) over one stock pool, so a later
shipment sees what an earlier one took. For each it plans a route, and decides:

- complete plan: released (I1: the draws leave the pool at once);
- intake, split allowed, something assignable: the part is released; the rest is split
  off into the waiting room if it is backorderable only, else reported short (R8);
- waiting, partial release on, something assignable: the part goes, the rest waits (R3);
- it may wait (reactive fence, every missing item backorderable, no static block): it
  waits, and with ``allow_skip`` off it holds the stock it could use;
- otherwise: unroutable, and it leaves the waiting room.

``floors`` (``release_floors``) make a round cheap: a waiting shipment the event cannot
have helped is skipped without output. With ``allow_skip`` off every shipment takes part,
since each one re-takes its hold. The policy's rules are ``release_rules``; the events
themselves are built in ``release_outcomes``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from backorder_worker.domain.fences import Eligibility, StaticFences
from backorder_worker.domain.future_supply import is_usable_supply
from backorder_worker.domain.inventory import StockKey, StockPool, Supply
from backorder_worker.domain.model import (
    Candidate,
    Catalog,
    Listing,
    Location,
    Origin,
    PartialRelease,
    ReleasePolicy,
    Shipment,
)
from backorder_worker.domain.outcomes import (
    Decision,
    ShipmentReleased,
    ShipmentUnroutable,
    Trigger,
    WaitState,
)
from backorder_worker.domain.release_floors import Floors, raised_skus
from backorder_worker.domain.release_outcomes import (
    missing_after,
    released,
    split_off_candidate,
    unroutable,
)
from backorder_worker.domain.release_rules import (
    can_wait,
    only_completeness_matters,
    releasable_part,
    release_order_key,
)
from backorder_worker.domain.route_plan import Assignment, Plan
from backorder_worker.domain.routing import plan_shipment
from backorder_worker.domain.stock_check import short_skus

__all__ = ["Floors", "ReleaseRound", "release_order_key"]


class ReleaseRound:
    """One event's decisions. Feed candidates in release order; read ``is_exhausted``."""

    def __init__(
        self,
        catalog: Catalog,
        policy: ReleasePolicy,
        pool: StockPool,
        now: datetime,
        trigger: Trigger,
        floors: Floors | None = None,
    ) -> None:
        self.catalog, self.policy, self.pool = catalog, policy, pool
        # Holds (allow_skip off) must be re-taken by every shipment, so nothing is skipped.
        self.now, self.trigger = now, trigger
        self.floors = floors if policy.allow_skip else None
        self.fences = StaticFences(catalog)
        self._decided: set[str] = set()

    def extend(
        self,
        listings: Mapping[tuple[str, str | None], Listing],
        current: Mapping[StockKey, int],
        supplies: Iterable[Supply],
        locations: Mapping[str, Location] | None = None,
    ) -> None:
        """Brings SKUs that later candidates need into the round (their stock and listings),
        and the locations as they are now, if given."""
        locations = self.catalog.locations if locations is None else locations
        self.catalog = Catalog(locations, {**listings, **self.catalog.listings})
        self.fences = StaticFences(self.catalog)
        usable = [s for s in supplies if is_usable_supply(s, self.catalog, self.policy, self.now)]
        self.pool.add(current, usable)

    @property
    def is_exhausted(self) -> bool:
        """True when no waiting shipment can be released by the rest of this round."""
        return self.floors is not None and not self._raised_skus()

    def decide(self, candidate: Candidate) -> list[Decision]:
        shipment = candidate.shipment
        if shipment.shipment_id in self._decided:
            return []  # e.g. a split-off that a later page of the same round brings back
        if candidate.origin is Origin.WAITING and not self._may_help(shipment):
            return []
        eligibility = self.fences.evaluate(shipment)
        split = self.policy.allows_split(shipment)
        short = short_skus(shipment, eligibility, self.pool)
        if short and self._is_blocked_elsewhere(candidate, short, split):
            return []
        self._decided.add(shipment.shipment_id)
        if short and only_completeness_matters(self.policy, candidate):
            plan = Plan((), {ln.line_id: ln.quantity for ln in shipment.lines if ln.sku in short})
        else:
            plan = plan_shipment(shipment, eligibility, self.pool, split)
        if plan.is_complete:
            return [self._release(candidate, plan.assignments, eligibility, plan.missing)]
        may_wait = can_wait(self.policy, self.catalog, shipment, eligibility, plan)
        part = releasable_part(self.policy, candidate, plan, split)
        if part:
            return self._release_part(candidate, part, eligibility, plan, may_wait)
        if not may_wait:
            return [self._unroutable(candidate, eligibility, plan, WaitState.UNROUTABLE)]
        if not self.policy.allow_skip:
            self._hold(plan)
        return [self._unroutable(candidate, eligibility, plan, WaitState.WAITING)]

    def _is_blocked_elsewhere(self, candidate: Candidate, short: set[str], split: bool) -> bool:
        """A waiting shipment short of a SKU this event did not raise cannot be completed
        by it (nor partly released, without partial release): it is not evaluated, and its
        last report still holds. A stock event for a popular SKU so touches the shipments
        it can help, not every shipment that also waits for something else."""
        if self.floors is None or candidate.origin is not Origin.WAITING:
            return False
        if split and self.policy.partial_release is not PartialRelease.NONE:
            return False
        return not short <= self._raised_skus()

    def _release_part(
        self,
        candidate: Candidate,
        part: list[Assignment],
        eligibility: Eligibility,
        plan: Plan,
        may_wait: bool,
    ) -> list[Decision]:
        missing = missing_after(candidate.shipment, part)
        if not may_wait:
            return [self._release(candidate, part, eligibility, missing, short=True)]
        split_off = split_off_candidate(candidate, missing)
        release = self._release(candidate, part, eligibility, missing, split_off=split_off)
        self._decided.add(split_off.shipment.shipment_id)
        rest = self.fences.evaluate(split_off.shipment)
        rest_plan = Plan((), {line.line_id: line.quantity for line in split_off.shipment.lines})
        return [release, self._unroutable(split_off, rest, rest_plan, WaitState.WAITING)]

    def _release(
        self,
        candidate: Candidate,
        assignments: Sequence[Assignment],
        eligibility: Eligibility,
        missing: Mapping[str, int],
        *,
        short: bool = False,
        split_off: Candidate | None = None,
    ) -> ShipmentReleased:
        for assignment in assignments:
            self.pool.take(assignment.draw)
        short_lines = missing if short else {}
        return released(
            candidate,
            assignments,
            eligibility,
            short_lines,
            self.policy,
            self.now,
            self.trigger,
            split_off,
        )

    def _unroutable(
        self, candidate: Candidate, eligibility: Eligibility, plan: Plan, state: WaitState
    ) -> ShipmentUnroutable:
        return unroutable(
            candidate,
            eligibility,
            plan.missing,
            state,
            self.pool,
            self.catalog,
            self.policy,
            self.now,
            self.trigger,
        )

    def _hold(self, plan: Plan) -> None:
        """With skip off, an earlier shipment keeps the stock it could use (R7): current
        units and the future supply its plan draws, so a later shipment cannot take the
        supply the earlier one needs to complete."""
        for assignment in plan.assignments:
            self.pool.take(assignment.draw)

    def _raised_skus(self) -> set[str]:
        assert self.floors is not None
        return raised_skus(self.floors, self.pool)

    def _may_help(self, shipment: Shipment) -> bool:
        return self.floors is None or not shipment.skus.isdisjoint(self._raised_skus())
