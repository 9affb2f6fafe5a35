"""Cancellation (R11): the shipment, and every remainder the worker created from it.

A cancelled shipment leaves the waiting room and is never released. The split-offs and
short-pick remainders the worker created from it (at any depth: the remainder of a short
pick of one of its released children too) go with it when they have not been released:
each is cancelled and reported (``decide_cancelled_with``). Released shipments are the
OMS's to stop; the worker has nothing to take back from them. With skipping off, the
stock the cancelled shipments held passes on in a round in the same transaction. The
cancel holds the SKU locks of the whole family before it writes a row of it, as any
decider does (``locking`` rule 1), so it never meets a release on a row.
"""

from __future__ import annotations

from backorder_worker.domain.cancellation import decide_cancelled_with
from backorder_worker.domain.model import Candidate, Origin
from backorder_worker.domain.outcomes import Decision
from backorder_worker.service_layer.commands import CancelShipment
from backorder_worker.service_layer.ports import ShipmentRecord, ShipmentState
from backorder_worker.service_layer.results import Applied, Context, Outcome, Rejected
from backorder_worker.service_layer.rounds import Scope, run_round

NOT_RELEASED = {ShipmentState.WAITING, ShipmentState.UNROUTABLE}


def cancel_shipment(cmd: CancelShipment, ctx: Context) -> Outcome:
    store, trigger = ctx.store, ctx.envelope.trigger
    _lock_the_family(ctx, cmd.shipment_id)
    before = store.cancel(cmd.shipment_id, trigger, ctx.now)
    if before is None:
        return Rejected("unknown-shipment", f"shipment {cmd.shipment_id} is not known")
    decisions: list[Decision] = []
    left_the_line = [before] if before.state is ShipmentState.WAITING else []
    for remainder in store.descendants(cmd.shipment_id):
        if remainder.state in NOT_RELEASED:
            report = decide_cancelled_with(_candidate(remainder, ctx), cmd.shipment_id, trigger)
            store.cancel(remainder.shipment.shipment_id, trigger, ctx.now, report)
            decisions.append(report)
            if remainder.state is ShipmentState.WAITING:
                left_the_line.append(remainder)
    if left_the_line and not ctx.policy.allow_skip:
        # What the cancelled shipments held passes on now (R7, holds.py).
        freed = {sku for record in left_the_line for sku in record.shipment.skus}
        decisions += run_round(store, ctx.policy, ctx.now, trigger, Scope.of(freed))
    if before.state is not ShipmentState.WAITING:
        note = f"shipment was {before.state.value}; nothing to take back"
        return Applied(decisions, note=note)
    return Applied(decisions)


def _lock_the_family(ctx: Context, shipment_id: str) -> None:
    """Holds the SKU locks of the shipment and of everything created from it before any of
    their rows is written (``locking`` rule 1: a cancel decides them too), so a release of
    one of them in another transaction is serialised with the cancel, not met on its row.
    Read first without locks: a family's SKUs only ever move between its members (a
    release splits lines, a short pick moves them to a remainder), never join it, so what
    is read here covers the family when the locks are held. A later lock call: it only
    tries, and a SKU held elsewhere runs the batch again with it in its first call."""
    record = ctx.store.shipment(shipment_id)
    if record is None:
        return
    skus = set(record.shipment.skus)
    for member in ctx.store.descendants(shipment_id):
        skus |= member.shipment.skus
    ctx.store.lock_skus(skus)


def _candidate(record: ShipmentRecord, ctx: Context) -> Candidate:
    entered = record.entered_at or ctx.now
    return Candidate(record.shipment, entered, Origin.WAITING, record.backordered_at)
