"""Future supplies (purchase orders, transfers in): reads and upserts by supply id.

What released decisions promise from them is in ``draws`` (a guarded update).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from backorder_worker.adapters.postgres.rows import supply_from_row, text_array
from backorder_worker.adapters.postgres.tables import supplies
from backorder_worker.domain.inventory import Supply


def supply(conn: sa.Connection, supply_id: str) -> Supply | None:
    row = conn.execute(sa.select(supplies).where(supplies.c.supply_id == supply_id)).first()
    return None if row is None else supply_from_row(row._mapping)


def existing_supplies(conn: sa.Connection, supply_ids: Iterable[str]) -> set[str]:
    """Which of these supplies Postgres knows, in one statement."""
    query = sa.select(supplies.c.supply_id).where(
        supplies.c.supply_id == sa.any_(text_array(supply_ids))
    )
    return set(conn.execute(query).scalars())


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
