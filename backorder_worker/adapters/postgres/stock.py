"""Current stock positions, future supplies and the allocation ledger.

Draws are applied by conditional updates (``free >= q``, ``quantity - promised >= q``)
and the schema checks ``free >= 0``: the database itself refuses to oversell (I1). A
refused draw means the decision was made on stale numbers, i.e. a caller did not hold the
SKU locks; it is raised as ``OversellRefused``, never silently dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert

from backorder_worker.adapters.postgres.rows import (
    copy_rows,
    supply_from_row,
    text_array,
    unnested,
    utc,
)
from backorder_worker.adapters.postgres.tables import allocations, stock_positions, supplies
from backorder_worker.domain.inventory import Draw, StockKey, Supply
from backorder_worker.service_layer.ports import StockPosition


class OversellRefused(RuntimeError):
    """A draw asked for more than is free: a bug (stale numbers, a missing lock)."""


def stock_position(conn: sa.Connection, location_id: str, sku: str) -> StockPosition:
    row = conn.execute(
        sa.select(stock_positions.c.free, stock_positions.c.level_as_of).where(
            stock_positions.c.location_id == location_id, stock_positions.c.sku == sku
        )
    ).first()
    if row is None:
        return StockPosition(location_id, sku, 0)
    return StockPosition(location_id, sku, row.free, utc(row.level_as_of))


def add_free_stock(conn: sa.Connection, location_id: str, sku: str, units: int) -> int:
    """Adds ``units`` in one upsert; returns the free units before."""
    statement = insert(stock_positions).values(location_id=location_id, sku=sku, free=units)
    after = conn.execute(
        statement.on_conflict_do_update(
            index_elements=[stock_positions.c.location_id, stock_positions.c.sku],
            set_={"free": stock_positions.c.free + statement.excluded.free},
        ).returning(stock_positions.c.free)
    ).scalar_one()
    return int(after) - units


_WANTED = sa.bindparam("skus", type_=ARRAY(sa.Text))
_TOTALS = sa.union_all(
    sa.select(stock_positions.c.sku, sa.func.sum(stock_positions.c.free))
    .where(stock_positions.c.sku == sa.any_(_WANTED))
    .group_by(stock_positions.c.sku),
    sa.select(supplies.c.sku, sa.func.sum(supplies.c.quantity - supplies.c.promised))
    .where(supplies.c.sku == sa.any_(_WANTED), supplies.c.quantity > supplies.c.promised)
    .group_by(supplies.c.sku),
)

_CHANGED = unnested(
    "changed",
    c_location_id=sa.Text(),
    c_sku=sa.Text(),
    c_free=sa.Integer(),
    c_level_as_of=sa.DateTime(timezone=True),
)
_POSITION = insert(stock_positions).from_select(
    ["location_id", "sku", "free", "level_as_of"], sa.select(_CHANGED)
)
_SET_POSITION = _POSITION.on_conflict_do_update(
    index_elements=[stock_positions.c.location_id, stock_positions.c.sku],
    set_={"free": _POSITION.excluded.free, "level_as_of": _POSITION.excluded.level_as_of},
)
_ADD_TO_POSITION = _POSITION.on_conflict_do_update(
    index_elements=[stock_positions.c.location_id, stock_positions.c.sku],
    set_={"free": stock_positions.c.free + _POSITION.excluded.free},
)


def set_positions(
    conn: sa.Connection, levels: Mapping[StockKey, tuple[int, datetime | None]]
) -> None:
    """Sets each position's (free, level_as_of), creating it if new: one statement over
    arrays, keys in order (a stable row-lock order). Only for SKUs the caller holds
    locked: what it read is then still what is there."""
    if levels:
        conn.execute(_SET_POSITION, _columns(sorted(levels.items())))


def add_to_positions(conn: sa.Connection, units: Mapping[StockKey, int]) -> None:
    """Adds units to each position (created at them if new), without reading it."""
    if units:
        rows = [(key, (n, None)) for key, n in sorted(units.items())]
        conn.execute(_ADD_TO_POSITION, _columns(rows))


def _columns(rows: Sequence[tuple[StockKey, tuple[int, datetime | None]]]) -> dict[str, list[Any]]:
    return {
        "c_location_id": [loc for (loc, _), _ in rows],
        "c_sku": [sku for (_, sku), _ in rows],
        "c_free": [free for _, (free, _) in rows],
        "c_level_as_of": [as_of for _, (_, as_of) in rows],
    }


def positions_of(conn: sa.Connection, skus: Iterable[str]) -> list[StockPosition]:
    """Every position of these SKUs, with its free units and the as_of of its last level."""
    wanted = set(skus)
    if not wanted:
        return []
    c = stock_positions.c
    rows = conn.execute(
        sa.select(c.location_id, c.sku, c.free, c.level_as_of).where(
            c.sku == sa.any_(text_array(wanted))
        )
    )
    return [StockPosition(r.location_id, r.sku, r.free, utc(r.level_as_of)) for r in rows]


def set_free_stock(
    conn: sa.Connection, location_id: str, sku: str, free: int, level_as_of: datetime | None
) -> None:
    statement = insert(stock_positions).values(
        location_id=location_id, sku=sku, free=free, level_as_of=level_as_of
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[stock_positions.c.location_id, stock_positions.c.sku],
            set_={
                "free": statement.excluded.free,
                "level_as_of": sa.func.coalesce(
                    statement.excluded.level_as_of, stock_positions.c.level_as_of
                ),
            },
        )
    )


def assigned_since(conn: sa.Connection, location_id: str, sku: str, since: datetime) -> int:
    total = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(allocations.c.quantity), 0)).where(
            allocations.c.location_id == location_id,
            allocations.c.sku == sku,
            allocations.c.at > since,
            allocations.c.supply_id.is_(None),
        )
    ).scalar_one()
    return int(total)


def current_stock(conn: sa.Connection, skus: Iterable[str]) -> dict[StockKey, int]:
    wanted = set(skus)
    if not wanted:
        return {}
    rows = conn.execute(
        sa.select(stock_positions.c.location_id, stock_positions.c.sku, stock_positions.c.free)
        .where(stock_positions.c.sku == sa.any_(text_array(wanted)))
        .order_by(stock_positions.c.sku, stock_positions.c.location_id)
    )
    return {(row.location_id, row.sku): row.free for row in rows}


def totals(conn: sa.Connection, skus: Iterable[str]) -> dict[str, int]:
    """Per SKU, free current units at every location plus free units of every supply."""
    wanted = sorted(set(skus))
    found = dict.fromkeys(wanted, 0)
    if wanted:
        for sku, units in conn.execute(_TOTALS, {"skus": wanted}):
            found[sku] += int(units)
    return found


def skus_at(conn: sa.Connection, location_id: str) -> set[str]:
    """SKUs with free current units or free supply at the location (two index scans)."""
    stocked = sa.select(stock_positions.c.sku).where(
        stock_positions.c.location_id == location_id, stock_positions.c.free > 0
    )
    supplied = sa.select(supplies.c.sku).where(
        supplies.c.location_id == location_id, supplies.c.quantity > supplies.c.promised
    )
    return set(conn.execute(sa.union(stocked, supplied)).scalars())


def supply(conn: sa.Connection, supply_id: str) -> Supply | None:
    row = conn.execute(sa.select(supplies).where(supplies.c.supply_id == supply_id)).first()
    return None if row is None else supply_from_row(row._mapping)


def existing_supplies(conn: sa.Connection, supply_ids: Iterable[str]) -> set[str]:
    """Which of these supplies Postgres knows, in one statement."""
    query = sa.select(supplies.c.supply_id).where(
        supplies.c.supply_id == sa.any_(text_array(supply_ids))
    )
    return set(conn.execute(query).scalars())


def save_supply(conn: sa.Connection, supply: Supply) -> None:
    save_supplies(conn, [supply])


def save_supplies(conn: sa.Connection, saved: Sequence[Supply]) -> None:
    """Upserts by supply id in one statement, quantity, promised and date included."""
    if not saved:
        return
    rows = [
        {
            "supply_id": s.supply_id,
            "location_id": s.location_id,
            "sku": s.sku,
            "quantity": s.quantity,
            "promised": s.promised,
            "expected_date": s.expected_date,
        }
        for s in sorted(saved, key=lambda s: s.supply_id)
    ]
    statement = insert(supplies)
    columns = ("location_id", "sku", "quantity", "promised", "expected_date")
    upsert = statement.on_conflict_do_update(
        index_elements=[supplies.c.supply_id],
        set_={**{name: statement.excluded[name] for name in columns}, "updated_at": sa.func.now()},
    )
    conn.execute(upsert, rows)


def supplies_of(conn: sa.Connection, skus: Iterable[str]) -> list[Supply]:
    """Every supply of these SKUs, promised in full or not."""
    wanted = set(skus)
    if not wanted:
        return []
    rows = conn.execute(sa.select(supplies).where(supplies.c.sku == sa.any_(text_array(wanted))))
    return [supply_from_row(row) for row in rows.mappings()]


def supplies_with_free_units(conn: sa.Connection, skus: Iterable[str]) -> list[Supply]:
    wanted = set(skus)
    if not wanted:
        return []
    rows = conn.execute(
        sa.select(supplies)
        .where(
            supplies.c.sku == sa.any_(text_array(wanted)),
            supplies.c.quantity > supplies.c.promised,
        )
        .order_by(supplies.c.supply_id)
    )
    return [supply_from_row(row) for row in rows.mappings()]


def apply_draws(conn: sa.Connection, draws: Sequence[tuple[Draw, str, datetime]]) -> None:
    """Takes each (draw, shipment id, at) from stock or supply and writes the ledger: one
    guarded update per kind for all of them, whatever the number of decisions."""
    if not draws:
        return
    current: dict[StockKey, int] = defaultdict(int)
    future: dict[str, int] = defaultdict(int)
    for draw, _, _ in draws:
        if draw.supply_id is None:
            current[(draw.location_id, draw.sku)] += draw.quantity
        else:
            future[draw.supply_id] += draw.quantity
    if current:
        _take_current(conn, current)
    if future:
        _promise_future(conn, future)
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
    copy_rows(conn, allocations, ledger)


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
_PROMISED = unnested("promised", p_supply_id=sa.Text(), p_quantity=sa.Integer())
_PROMISE_FUTURE = (
    sa.update(supplies)
    .where(
        supplies.c.supply_id == _PROMISED.c.p_supply_id,
        supplies.c.quantity - supplies.c.promised >= _PROMISED.c.p_quantity,
    )
    .values(promised=supplies.c.promised + _PROMISED.c.p_quantity, updated_at=sa.func.now())
    .returning(supplies.c.supply_id)
)


def _take_current(conn: sa.Connection, wanted: dict[StockKey, int]) -> None:
    ordered = sorted(wanted.items())
    params = {
        "t_location_id": [loc for (loc, _), _ in ordered],
        "t_sku": [sku for (_, sku), _ in ordered],
        "t_quantity": [units for _, units in ordered],
    }
    updated = conn.execute(_TAKE_CURRENT, params).all()
    refused = set(wanted) - {(row.location_id, row.sku) for row in updated}
    if refused:
        raise OversellRefused(f"not enough free stock for {sorted(refused)}: {dict(wanted)}")


def _promise_future(conn: sa.Connection, wanted: dict[str, int]) -> None:
    ordered = sorted(wanted.items())
    params = {"p_supply_id": [i for i, _ in ordered], "p_quantity": [q for _, q in ordered]}
    updated = conn.execute(_PROMISE_FUTURE, params).scalars()
    refused = set(wanted) - set(updated)
    if refused:
        raise OversellRefused(f"not enough free supply in {sorted(refused)}: {dict(wanted)}")
