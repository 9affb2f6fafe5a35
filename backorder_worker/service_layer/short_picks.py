"""Short picks (SPEC ``shipment.short-picked``, R8): the missing units of a released
shipment are taken out of it, off the stock count where it was picked, and routed again
as a remainder linked to it.

What a short pick does to stock: the picker found ``missing`` units fewer than the count
said, so the free stock of the position goes down by that many, never below zero
(``free_after_short_pick``). The position is not set to 0: units the picker had no reason
to look for may be there, and the next ``stock.level`` from the inventory system corrects
the count anyway.
"""

from __future__ import annotations

from dataclasses import replace

from backorder_worker.domain import ids
from backorder_worker.domain.short_pick import (
    ShortPickRefused,
    decide_short_pick,
    free_after_short_pick,
)
from backorder_worker.service_layer.commands import ReportShortPick
from backorder_worker.service_layer.ports import ShipmentState
from backorder_worker.service_layer.results import Context, Outcome, Rejected
from backorder_worker.service_layer.shipment_handlers import route_intake

RELEASED = {ShipmentState.READY, ShipmentState.FUTURE}


def report_short_pick(cmd: ReportShortPick, ctx: Context) -> Outcome:
    store = ctx.store
    record = store.shipment(cmd.shipment_id)
    if record is None:
        return Rejected("unknown-shipment", f"shipment {cmd.shipment_id} is not known")
    if record.state not in RELEASED:
        return Rejected(
            "invalid-state", f"shipment {cmd.shipment_id} is {record.state.value}, not released"
        )
    missing = [(ln.line_id, ln.sku, ln.missing_quantity) for ln in cmd.lines]
    try:
        pick = decide_short_pick(record.shipment, record.location_id, cmd.location_id, missing)
    except ShortPickRefused as refused:
        return Rejected("invalid-short-pick", str(refused))
    store.lock_skus(pick.missing_by_sku())
    for sku, units in sorted(pick.missing_by_sku().items()):
        free = store.stock_position(cmd.location_id, sku).free
        store.set_free_stock(cmd.location_id, sku, free_after_short_pick(free, units))
    store.replace_lines(cmd.shipment_id, pick.kept)
    number = store.count_short_pick(cmd.shipment_id)
    remainder = replace(
        record.shipment,
        shipment_id=ids.short_pick_remainder_id(cmd.shipment_id, number),
        lines=pick.missing,
    )
    outcome = route_intake(ctx, remainder)
    store.link_remainder(remainder.shipment_id, cmd.shipment_id)
    return outcome
