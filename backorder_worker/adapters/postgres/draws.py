"""Draws: what released decisions take from current stock and promise from supplies.

Draws are conditional updates (``free >= q``, ``quantity - promised >= q``), one statement
per kind for all the draws of a flush, and the schema checks ``free >= 0``: the database
itself refuses to oversell (I1). A refused draw means the decision was made on stale
numbers, i.e. a caller did not hold the SKU locks; it is raised as ``OversellRefused``,
never silently dropped. Each draw is written to the allocation ledger with its time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backorder_worker.adapters.postgres.rows import (
    COPY_FROM,
    insert_params,
    insert_rows,
    inserting,
    unnested,
)
from backorder_worker.adapters.postgres.tables import (
    allocations,
    shipments,
    stock_positions,
    supplies,
)
from backorder_worker.domain.inventory import Draw, StockKey, Supply
from backorder_worker.service_layer.ports import ShipmentState


class OversellRefused(RuntimeError):
    """A draw asked for more than is free: a bug (stale numbers, a missing lock)."""


def apply_draws(conn: sa.Connection, draws: Sequence[tuple[Draw, str, datetime]]) -> None:
    """Takes each (draw, shipment id, at) from stock or supply and writes the ledger: one
    guarded update per kind for all of them, whatever the number of decisions."""
    if not draws:
        return
    current: dict[StockKey, int] = defaultdict(int)
    future: dict[tuple[str, str, str], int] = defaultdict(int)  # (supply, location, sku)
    for draw, _, _ in draws:
        if draw.supply_id is None:
            current[(draw.location_id, draw.sku)] += draw.quantity
        else:
            future[(draw.supply_id, draw.location_id, draw.sku)] += draw.quantity
    ledger = [
        {
            "location_id": draw.location_id,
            "sku": draw.sku,
            "quantity": draw.quantity,
            "shipment_id": shipment_id,
            "supply_id": draw.supply_id,
            "at": at,
        }
        for draw, shipment_id, at in draws
    ]
    # A few ledger rows ride on the draw from current stock (one round trip for both); a
    # refused draw raises and the transaction rolls back, ledger rows and all.
    with_ledger = bool(current) and len(ledger) < COPY_FROM
    if current:
        _take_current(conn, current, ledger if with_ledger else None)
    if future:
        _promise_future(conn, future)
    if not with_ledger:
        insert_rows(conn, allocations, ledger)


_TAKEN = unnested("taken", t_location_id=sa.Text(), t_sku=sa.Text(), t_quantity=sa.Integer())
_TAKE_CURRENT = (
    sa.update(stock_positions)
    .where(
        stock_positions.c.location_id == _TAKEN.c.t_location_id,
        stock_positions.c.sku == _TAKEN.c.t_sku,
        stock_positions.c.free >= _TAKEN.c.t_quantity,
    )
    .values(free=stock_positions.c.free - _TAKEN.c.t_quantity)
    .returning(stock_positions.c.location_id, stock_positions.c.sku)
)
_PROMISED = unnested(
    "promised",
    p_supply_id=sa.Text(),
    p_location_id=sa.Text(),
    p_sku=sa.Text(),
    p_quantity=sa.Integer(),
)
# The supply must still be where the decision saw it: one moved to another SKU or location
# since is refused like an oversell (its movers lock the old SKU too, so this is a guard).
_PROMISE_FUTURE = (
    sa.update(supplies)
    .where(
        supplies.c.supply_id == _PROMISED.c.p_supply_id,
        supplies.c.location_id == _PROMISED.c.p_location_id,
        supplies.c.sku == _PROMISED.c.p_sku,
        supplies.c.quantity - supplies.c.promised >= _PROMISED.c.p_quantity,
    )
    .values(promised=supplies.c.promised + _PROMISED.c.p_quantity, updated_at=sa.func.now())
    .returning(supplies.c.supply_id)
)


_LEDGER_COLUMNS = ("location_id", "sku", "quantity", "shipment_id", "supply_id", "at")
_WRITE_LEDGER = inserting(allocations, _LEDGER_COLUMNS, "l")
_TAKING = _TAKE_CURRENT.cte("taken_rows")
_TAKE_CURRENT_WITH_LEDGER = sa.select(_TAKING.c.location_id, _TAKING.c.sku).add_cte(_WRITE_LEDGER)


def _take_current(
    conn: sa.Connection, wanted: dict[StockKey, int], ledger: list[dict[str, Any]] | None
) -> None:
    ordered = sorted(wanted.items())
    params = {
        "t_location_id": [loc for (loc, _), _ in ordered],
        "t_sku": [sku for (_, sku), _ in ordered],
        "t_quantity": [units for _, units in ordered],
    }
    if ledger is None:
        updated = conn.execute(_TAKE_CURRENT, params).all()
    else:
        params |= insert_params(allocations, _LEDGER_COLUMNS, "l", ledger)
        updated = conn.execute(_TAKE_CURRENT_WITH_LEDGER, params).all()
    refused = set(wanted) - {(row.location_id, row.sku) for row in updated}
    if refused:
        raise OversellRefused(f"not enough free stock for {sorted(refused)}: {dict(wanted)}")


def _promise_future(conn: sa.Connection, wanted: dict[tuple[str, str, str], int]) -> None:
    ordered = sorted(wanted.items())
    params = {
        "p_supply_id": [supply_id for (supply_id, _, _), _ in ordered],
        "p_location_id": [location_id for (_, location_id, _), _ in ordered],
        "p_sku": [sku for (_, _, sku), _ in ordered],
        "p_quantity": [units for _, units in ordered],
    }
    updated = conn.execute(_PROMISE_FUTURE, params).scalars()
    refused = {key[0] for key in wanted} - set(updated)
    if refused:
        raise OversellRefused(f"not enough free supply in {sorted(refused)}: {dict(wanted)}")


def promised_from(conn: sa.Connection, supply: Supply) -> list[str]:
    """The FUTURE shipments the ledger shows holding units of the supply, by id. The
    ledger is read by its (location, SKU) index: a supply never moves once it promised."""
    a, s = allocations.c, shipments.c
    query = (
        sa.select(a.shipment_id)
        .distinct()
        .join(shipments, s.shipment_id == a.shipment_id)
        .where(
            a.location_id == supply.location_id,
            a.sku == supply.sku,
            a.supply_id == supply.supply_id,
            s.state == ShipmentState.FUTURE.value,
        )
        .order_by(a.shipment_id)
    )
    return list(conn.execute(query).scalars())
