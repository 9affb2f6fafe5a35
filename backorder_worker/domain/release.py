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

``floors`` makes a round cheap: they are the pool's levels before the event. A waiting
shipment could not be completed before the event (I3 held), so once no SKU it needs is
above its floor, it cannot be completed now either, and it is skipped without output; so
is one that is short of a SKU the event did not raise.
With ``allow_skip`` off every shipment takes part, since each one re-takes its hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from backorder_worker.domain import ids
from backorder_worker.domain.fences import Eligibility, StaticFences
from backorder_worker.domain.future_supply import is_usable_supply
from backorder_worker.domain.inventory import StockKey, StockPool, Supply
from backorder_worker.domain.model import (
    Candidate,
    Catalog,
    FenceMode,
    Listing,
    Location,
    Origin,
    PartialRelease,
    ReleaseOrder,
    ReleasePolicy,
    Shipment,
)
from backorder_worker.domain.outcomes import (
    Decision,
    PaymentAction,
    ReleasedLine,
    ShipmentReleased,
    ShipmentUnroutable,
    Trigger,
    WaitState,
)
from backorder_worker.domain.routing import Assignment, Plan, plan_shipment
from backorder_worker.domain.shaping import lines_of, shape_release
from backorder_worker.domain.stock_check import complete_stock_reasons, missing_skus, short_skus


@dataclass(frozen=True, slots=True)
class Floors:
    """Pool levels before the event, for the positions the event raised."""

    current: Mapping[StockKey, int]
    future: Mapping[StockKey, int]


def release_order_key(order: ReleaseOrder, candidate: Candidate) -> tuple[int, datetime, str]:
    """R7: first in first out by the time it entered backorder (or priority first)."""
    priority = -candidate.shipment.priority if order is ReleaseOrder.PRIORITY else 0
    return priority, candidate.entered_at, candidate.shipment.shipment_id


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
        if short and self._only_completeness_matters(candidate):
            plan = Plan((), {ln.line_id: ln.quantity for ln in shipment.lines if ln.sku in short})
        else:
            plan = plan_shipment(shipment, eligibility, self.pool, split)
        if plan.is_complete:
            return [self._release(candidate, plan.assignments, eligibility, plan.missing)]
        can_wait = self._can_wait(shipment, eligibility, plan)
        part = self._releasable_part(candidate, plan, split)
        if part:
            return self._release_part(candidate, part, eligibility, plan, can_wait)
        if not can_wait:
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

    def _only_completeness_matters(self, candidate: Candidate) -> bool:
        """No partial release and no hold: a plan that cannot complete is not needed."""
        return (
            candidate.origin is Origin.WAITING
            and self.policy.allow_skip
            and self.policy.partial_release is PartialRelease.NONE
        )

    def _releasable_part(self, candidate: Candidate, plan: Plan, split: bool) -> list[Assignment]:
        if not split or not plan.assignments:
            return []
        if candidate.origin is Origin.INTAKE:
            return list(plan.assignments)  # R8: the assignable part goes out
        if self.policy.partial_release is PartialRelease.QUANTITY:
            return list(plan.assignments)
        if self.policy.partial_release is PartialRelease.LINE:
            return [a for a in plan.assignments if a.line_id not in plan.missing]
        return []

    def _release_part(
        self,
        candidate: Candidate,
        part: list[Assignment],
        eligibility: Eligibility,
        plan: Plan,
        can_wait: bool,
    ) -> list[Decision]:
        shipment = candidate.shipment
        missing = {
            line.line_id: line.quantity
            - sum(a.draw.quantity for a in part if a.line_id == line.line_id)
            for line in shipment.lines
        }
        missing = {line_id: n for line_id, n in missing.items() if n > 0}
        if not can_wait:
            return [self._release(candidate, part, eligibility, missing, short=True)]
        entered = candidate.entered_at
        split_off = Candidate(
            shipment=Shipment(
                shipment_id=ids.split_off_shipment_id(shipment.shipment_id),
                order_id=shipment.order_id,
                fulfillment_type=shipment.fulfillment_type,
                lines=lines_of(shipment, missing),
                pickup_location_id=shipment.pickup_location_id,
                priority=shipment.priority,
                split_allowed=shipment.split_allowed,
                backorder_days=shipment.backorder_days,
            ),
            entered_at=entered,
            origin=Origin.WAITING,
            backordered_at=candidate.backordered_at or entered,
        )
        released = self._release(candidate, part, eligibility, missing, split_off=split_off)
        self._decided.add(split_off.shipment.shipment_id)
        rest = self.fences.evaluate(split_off.shipment)
        rest_plan = Plan((), {line.line_id: line.quantity for line in split_off.shipment.lines})
        return [released, self._unroutable(split_off, rest, rest_plan, WaitState.WAITING)]

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
        parent = candidate.shipment
        for assignment in assignments:
            self.pool.take(assignment.draw)
        shipments, kind, parent_status = shape_release(parent, assignments, eligibility.preference)
        short_lines = tuple(
            ReleasedLine(line.line_id, line.sku, line.quantity)
            for line in lines_of(parent, missing if short else {})
        )
        return ShipmentReleased(
            event_id=ids.released_event_id(parent.shipment_id),
            parent=parent,
            release=kind,
            parent_status=parent_status,
            shipments=shipments,
            short_lines=short_lines,
            split_off=split_off,
            payment_action=(
                PaymentAction.VOID_AND_REAUTH
                if self.policy.void_and_reauth_on_release
                else PaymentAction.NONE
            ),
            backordered_at=candidate.backordered_at,
            released_at=self.now,
            trigger=self.trigger,
            draws=tuple(a.draw for a in assignments),
        )

    def _unroutable(
        self, candidate: Candidate, eligibility: Eligibility, plan: Plan, state: WaitState
    ) -> ShipmentUnroutable:
        shipment = candidate.shipment
        since = candidate.backordered_at or candidate.entered_at
        days = shipment.backorder_days
        due = since + timedelta(days=self.policy.default_backorder_days if days is None else days)
        return ShipmentUnroutable(
            event_id=ids.unroutable_event_id(shipment.shipment_id, self.trigger.event_id),
            candidate=candidate,
            state=state,
            reasons=eligibility.reasons
            + complete_stock_reasons(
                shipment, eligibility, plan.missing, self.pool, self.catalog, self.policy
            ),
            expected_release_by=due if state is WaitState.WAITING else None,
            overdue=state is WaitState.WAITING and self.now > due,
            trigger=self.trigger,
        )

    def _can_wait(self, shipment: Shipment, eligibility: Eligibility, plan: Plan) -> bool:
        if self.policy.complete_stock_mode is not FenceMode.REACTIVE:
            return False
        return all(
            self.catalog.backorders_anywhere(sku, eligibility.locations(sku))
            for sku in missing_skus(shipment, plan.missing)
        )

    def _hold(self, plan: Plan) -> None:
        """With skip off, an earlier shipment keeps the stock it could use (R7): current
        units and the future supply its plan draws, so a later shipment cannot take the
        supply the earlier one needs to complete."""
        for assignment in plan.assignments:
            self.pool.take(assignment.draw)

    def _raised_skus(self) -> set[str]:
        assert self.floors is not None
        raised = {
            sku
            for (loc, sku), floor in self.floors.current.items()
            if self.pool.current(loc, sku) > floor
        }
        raised.update(
            sku
            for (loc, sku), floor in self.floors.future.items()
            if self.pool.future(loc, sku) > floor
        )
        return raised

    def _may_help(self, shipment: Shipment) -> bool:
        return self.floors is None or not shipment.skus.isdisjoint(self._raised_skus())
