"""The release policy's rules, as a round applies them to one shipment (R3, R7, R8).

Pure predicates over the policy, the candidate and its plan: the order shipments are
released in (R7), which part of an incomplete plan may go out now (R8 on intake, R3
partial release while waiting), whether a shipment may wait for the rest (a reactive
complete-stock fence, every missing SKU backorderable somewhere eligible), and when only
a complete plan matters, so that the planner need not be asked for a partial one.
"""

from __future__ import annotations

from datetime import datetime

from backorder_worker.domain.fences import Eligibility
from backorder_worker.domain.model import (
    Candidate,
    Catalog,
    FenceMode,
    Origin,
    PartialRelease,
    ReleaseOrder,
    ReleasePolicy,
    Shipment,
)
from backorder_worker.domain.route_plan import Assignment, Plan
from backorder_worker.domain.stock_check import missing_skus


def release_order_key(order: ReleaseOrder, candidate: Candidate) -> tuple[int, datetime, str]:
    """R7: first in first out by the time it entered backorder (or priority first)."""
    priority = -candidate.shipment.priority if order is ReleaseOrder.PRIORITY else 0
    return priority, candidate.entered_at, candidate.shipment.shipment_id


def only_completeness_matters(policy: ReleasePolicy, candidate: Candidate) -> bool:
    """No partial release and no hold: a plan that cannot complete is not needed."""
    return (
        candidate.origin is Origin.WAITING
        and policy.allow_skip
        and policy.partial_release is PartialRelease.NONE
    )


def releasable_part(
    policy: ReleasePolicy, candidate: Candidate, plan: Plan, split: bool
) -> list[Assignment]:
    """What of an incomplete plan goes out now: on intake the assignable part (R8); while
    waiting, by the partial-release policy (R3); nothing without split."""
    if not split or not plan.assignments:
        return []
    if candidate.origin is Origin.INTAKE:
        return list(plan.assignments)  # R8: the assignable part goes out
    if policy.partial_release is PartialRelease.QUANTITY:
        return list(plan.assignments)
    if policy.partial_release is PartialRelease.LINE:
        return [a for a in plan.assignments if a.line_id not in plan.missing]
    return []


def can_wait(
    policy: ReleasePolicy,
    catalog: Catalog,
    shipment: Shipment,
    eligibility: Eligibility,
    plan: Plan,
) -> bool:
    """Reactive complete-stock fence, and every SKU the plan misses backorderable at some
    location the shipment may use."""
    if policy.complete_stock_mode is not FenceMode.REACTIVE:
        return False
    return all(
        catalog.backorders_anywhere(sku, eligibility.locations(sku))
        for sku in missing_skus(shipment, plan.missing)
    )
