"""Catalog events: listings (R1) and locations (R2's static fences).

A change that can only open a route triggers a round over the waiting shipments it can
help, without floors (the change is not in the pool). A change that closes a route
needs no round with skipping allowed: the shipments it affects cannot be released by
it, and their next evaluation will carry the new reason. With skipping off it may free
what a shipment it makes unroutable held, so the room is decided again.
"""

from __future__ import annotations

from backorder_worker.domain.model import Listing, Location
from backorder_worker.service_layer.commands import UpdateListing, UpdateLocation
from backorder_worker.service_layer.locking import locks_of
from backorder_worker.service_layer.results import Applied, Context, Outcome
from backorder_worker.service_layer.rounds import Scope, run_round


def update_listing(cmd: UpdateListing, ctx: Context) -> Outcome:
    store = ctx.store
    store.lock_skus([cmd.sku])
    existing = store.listings([cmd.sku]).get((cmd.sku, cmd.location_id))
    future = cmd.future_inventory_enabled
    if future is None:
        future = existing.future_inventory_enabled if existing is not None else True
    store.save_listing(Listing(cmd.sku, cmd.out_of_stock_behaviour, future, cmd.location_id))
    trigger = ctx.envelope.trigger
    return Applied(run_round(store, ctx.policy, ctx.now, trigger, Scope.of([cmd.sku])))


def update_location(cmd: UpdateLocation, ctx: Context) -> Outcome:
    store = ctx.store
    store.lock(locks_of(cmd))  # exclusive: every raise of stock here has committed
    existing = store.locations().get(cmd.location_id)
    rank = cmd.rank if cmd.rank is not None else (existing.rank if existing else 0)
    location = Location(cmd.location_id, cmd.active, cmd.fulfillment_types, rank)
    store.save_location(location)
    opens = location.active and (
        existing is None
        or not existing.active
        or not location.fulfillment_types <= existing.fulfillment_types
    )
    if not opens:
        if ctx.policy.allow_skip or not _closes(existing, location):
            return Applied()
        # Skip off: a closed route can leave the head of a line unroutable, and what it
        # held must pass on now (holds.py). Which heads, only their evaluation tells: the
        # whole room is decided again, a cost of the setting, for a rare event.
        everything = Scope.everything()
        return Applied(run_round(store, ctx.policy, ctx.now, ctx.envelope.trigger, everything))
    stocked = store.skus_at(cmd.location_id)
    if not stocked:
        return Applied()
    trigger = ctx.envelope.trigger
    return Applied(run_round(store, ctx.policy, ctx.now, trigger, Scope.of(stocked)))


def _closes(existing: Location | None, location: Location) -> bool:
    if existing is None or not existing.active:
        return False
    return not location.active or not existing.fulfillment_types <= location.fulfillment_types
