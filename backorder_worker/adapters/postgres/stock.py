"""Current stock positions: reads, and the writes of stock events; and the reads that
count positions and supplies together (``totals``, ``skus_at``).

Supplies themselves are in ``supplies``; what released decisions draw from both is in
``draws`` (guarded: the database refuses an oversell). The statements that run once per
batch take array parameters, so each is built and planned once whatever the number of
rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert

from backorder_worker.adapters.postgres.rows import (
    text_array,
    unnested,
    utc,
)
from backorder_worker.adapters.postgres.tables import allocations, stock_positions, supplies
from backorder_worker.domain.inventory import StockKey, Supply
from backorder_worker.service_layer.ports import StockPosition


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


def positions_and_supplies_of(
    conn: sa.Connection, skus: Iterable[str]
) -> tuple[list[StockPosition], list[Supply]]:
    """Every position of these SKUs (free units, the as_of of its last level) and every
    supply of them (promised in full or not), in one statement: a ``UNION ALL`` whose
    rows say which table they come from (``supply_id`` is NULL for a position). One
    round trip where there were two, on the path of every stock event somebody waits for
    (``LockedStock.load``); the caller holds these SKUs locked, so one snapshot or two
    read the same rows."""
    wanted = set(skus)
    if not wanted:
        return [], []
    rows = conn.execute(_POSITIONS_AND_SUPPLIES, {"skus": sorted(wanted)})
    positions: list[StockPosition] = []
    found: list[Supply] = []
    for r in rows:
        if r.supply_id is None:
            positions.append(StockPosition(r.location_id, r.sku, r.units, utc(r.at)))
        else:
            found.append(
                Supply(
                    supply_id=r.supply_id,
                    location_id=r.location_id,
                    sku=r.sku,
                    quantity=r.units,
                    expected_date=r.expected_date,
                    promised=r.promised,
                )
            )
    return positions, found


def _positions_and_supplies() -> sa.CompoundSelect[Any]:
    p, s = stock_positions.c, supplies.c
    skus = sa.bindparam("skus", type_=ARRAY(sa.Text))
    return sa.union_all(
        sa.select(
            sa.cast(sa.null(), sa.Text).label("supply_id"),
            p.location_id,
            p.sku,
            p.free.label("units"),
            p.level_as_of.label("at"),
            sa.cast(sa.null(), sa.Integer).label("promised"),
            sa.cast(sa.null(), sa.Date).label("expected_date"),
        ).where(p.sku == sa.any_(skus)),
        sa.select(
            s.supply_id,
            s.location_id,
            s.sku,
            s.quantity,
            s.updated_at,
            s.promised,
            s.expected_date,
        ).where(s.sku == sa.any_(skus)),
    )


_POSITIONS_AND_SUPPLIES = _positions_and_supplies()


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
