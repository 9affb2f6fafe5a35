"""Inventory events: stock stowed, absolute stock levels, future supply (R4, R10).

Each raises what the pool holds and then runs a round over the waiting shipments of
that SKU, with the pool's levels before the event as floors: a round stops as soon as
what the event added is gone.
"""

from __future__ import annotations

from backorder_worker.domain.future_supply import is_usable_supply
from backorder_worker.domain.inventory import Supply
from backorder_worker.domain.model import Catalog
from backorder_worker.domain.receiving import (
    SupplyCut,
    cuts_promises,
    free_units_from_level,
    receive_stowed,
)
from backorder_worker.domain.release import Floors
from backorder_worker.service_layer.commands import AnnounceSupply, SetStockLevel, StowStock
from backorder_worker.service_layer.locking import locks_of
from backorder_worker.service_layer.ports import Store
from backorder_worker.service_layer.results import Applied, Context, Outcome, Rejected
from backorder_worker.service_layer.rounds import Scope, run_round


def stow_stock(cmd: StowStock, ctx: Context) -> Outcome:
    store = ctx.store
    store.lock(locks_of(cmd))
    if cmd.supply_id is None:
        if not store.waiting_skus([cmd.sku]):  # most stock: nobody waits, nothing to decide
            store.add_free_stock_later(cmd.location_id, cmd.sku, cmd.quantity)
            return Applied()
        before = store.add_free_stock(cmd.location_id, cmd.sku, cmd.quantity)
        return _release(ctx, cmd.sku, Floors({(cmd.location_id, cmd.sku): before}, {}))
    position = store.stock_position(cmd.location_id, cmd.sku)
    supply = store.supply(cmd.supply_id)
    if supply is not None and (supply.location_id, supply.sku) != (cmd.location_id, cmd.sku):
        return Rejected(
            "supply-mismatch",
            f"supply {supply.supply_id} is for {supply.sku} at {supply.location_id}, "
            f"not {cmd.sku} at {cmd.location_id}",
        )
    received = receive_stowed(cmd.quantity, supply)
    if received.supply is not None:
        store.save_supply(received.supply)
    store.set_free_stock(cmd.location_id, cmd.sku, position.free + received.free_units)
    if received.free_units == 0:
        return Applied(note=f"all {received.covered} units cover promised future shipments")
    floors = Floors({(cmd.location_id, cmd.sku): position.free}, {})
    return _release(ctx, cmd.sku, floors)


def set_stock_level(cmd: SetStockLevel, ctx: Context) -> Outcome:
    store = ctx.store
    store.lock(locks_of(cmd))
    position = store.stock_position(cmd.location_id, cmd.sku)
    if position.level_as_of is not None and cmd.as_of <= position.level_as_of:
        return Applied(note=f"stale level: as_of {cmd.as_of} is not after {position.level_as_of}")
    assigned = store.assigned_since(cmd.location_id, cmd.sku, cmd.as_of)
    free = free_units_from_level(cmd.available, assigned)
    store.set_free_stock(cmd.location_id, cmd.sku, free, level_as_of=cmd.as_of)
    if free <= position.free:
        return Applied()
    return _release(ctx, cmd.sku, Floors({(cmd.location_id, cmd.sku): position.free}, {}))


def announce_supply(cmd: AnnounceSupply, ctx: Context) -> Outcome:
    store = ctx.store
    store.lock(locks_of(cmd))
    existing = _supply_locked(store, cmd.supply_id)
    promised = existing.promised if existing is not None else 0
    if (
        existing is not None
        and promised
        and (existing.location_id, existing.sku)
        != (
            cmd.location_id,
            cmd.sku,
        )
    ):
        return Rejected(
            "supply-mismatch",
            f"supply {cmd.supply_id} has {promised} units promised at "
            f"{existing.location_id}/{existing.sku} and cannot move",
        )
    key = (cmd.location_id, cmd.sku)
    before = _usable_future(ctx, cmd.sku, key)
    supply = Supply(
        cmd.supply_id, cmd.location_id, cmd.sku, cmd.quantity, cmd.expected_date, promised
    )
    cut = _cut(ctx, existing, cmd.quantity)
    store.save_supply(supply)
    note = None
    if cmd.quantity < promised:
        note = f"supply {cmd.supply_id} now holds {cmd.quantity}, below {promised} promised"
    if _usable_future(ctx, cmd.sku, key) <= before:
        return Applied(note=note, supply_cut=cut)
    outcome = _release(ctx, cmd.sku, Floors({}, {key: before}))
    return Applied(outcome.decisions, note, cut)


def _cut(ctx: Context, existing: Supply | None, quantity: int) -> SupplyCut | None:
    """A cut below the promises is recorded on the FUTURE shipments it leaves short
    (a history row each); the batch logs it and, once committed, counts it."""
    if existing is None or not cuts_promises(existing, quantity):
        return None
    shipment_ids = tuple(ctx.store.promised_from(existing))
    cut = SupplyCut(
        existing.supply_id, existing.promised, quantity, shipment_ids, existing.quantity
    )
    ctx.store.note_supply_cut(cut, ctx.envelope.trigger, ctx.now)
    return cut


def _supply_locked(store: Store, supply_id: str) -> Supply | None:
    """The supply, read while this transaction holds the lock of the SKU it belongs to:
    whoever promises from a supply holds its SKU's lock, and whoever moves a supply to
    another SKU holds both (this), so nobody promises from a supply that moved away."""
    while True:
        supply = store.supply(supply_id)
        if supply is None:
            return None
        held = supply.sku
        store.lock_skus([held])  # a no-op when held; else it may re-run the transaction
        supply = store.supply(supply_id)
        if supply is None or supply.sku == held:
            return supply


def _usable_future(ctx: Context, sku: str, key: tuple[str, str]) -> int:
    catalog = Catalog(ctx.store.locations(), ctx.store.listings([sku]))
    return sum(
        s.free
        for s in ctx.store.supplies([sku])
        if (s.location_id, s.sku) == key and is_usable_supply(s, catalog, ctx.policy, ctx.now)
    )


def _release(ctx: Context, sku: str, floors: Floors) -> Applied:
    trigger = ctx.envelope.trigger
    return Applied(run_round(ctx.store, ctx.policy, ctx.now, trigger, Scope.of([sku]), floors))
