"""Reading the waiting room in release order (R7), a page at a time, from an index.

Release order is (priority desc when the order is PRIORITY, entered_at, shipment_id).
Pages are keyset pages: "strictly after this key", never OFFSET. Because the priority order
mixes directions, a PRIORITY page after a key is read in two ranges, each one an index
range scan: the rest of the key's own priority, then the lower priorities.

For a set of SKUs, each SKU's own index range yields at most ``limit`` entries (a
``LATERAL`` subquery per SKU) and the union is cut to ``limit`` distinct shipments. That is
exact: the shipments before a page's last one, for any one of its SKUs, are all in the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from backorder_worker.adapters.postgres.rows import candidate_from_row, text_array
from backorder_worker.adapters.postgres.tables import shipments, waiting_skus
from backorder_worker.domain.model import Candidate, ReleaseOrder
from backorder_worker.service_layer.ports import OrderKey

# A literal, not a parameter, so that the partial indexes apply to every plan.
_IS_WAITING = shipments.c.state == sa.literal_column("'WAITING'")


@dataclass(frozen=True, slots=True)
class _Range:
    """One index range: a filter on (priority, entered_at, shipment_id) and its order."""

    order: ReleaseOrder
    after: OrderKey | None
    same_priority: bool  # PRIORITY after a key: the rest of the key's own priority

    def where(self, source: sa.FromClause) -> list[sa.ColumnElement[bool]]:
        c, after = source.c, self.after
        if after is None:
            return []
        tail = sa.tuple_(c.entered_at, c.shipment_id) > sa.tuple_(
            sa.literal(after.entered_at, sa.DateTime(timezone=True)),
            sa.literal(after.shipment_id, sa.Text),
        )
        if self.order is ReleaseOrder.FIFO:
            return [tail]
        if self.same_priority:
            return [c.priority == after.priority, tail]
        return [c.priority < after.priority]

    def order_by(self, source: sa.FromClause) -> list[sa.ColumnElement[object]]:
        c = source.c
        if self.order is ReleaseOrder.FIFO or self.same_priority:
            return [c.entered_at, c.shipment_id]
        return [c.priority.desc(), c.entered_at, c.shipment_id]


def waiting_page(
    conn: sa.Connection,
    skus: Iterable[str] | None,
    order: ReleaseOrder,
    after: OrderKey | None,
    limit: int,
) -> list[Candidate]:
    wanted = None if skus is None else set(skus)
    if limit <= 0 or wanted == set():
        return []
    if order is ReleaseOrder.FIFO or after is None:
        ranges = [_Range(order, after, same_priority=False)]
    else:
        ranges = [_Range(order, after, same_priority=True), _Range(order, after, False)]
    page: list[Candidate] = []
    for range_ in ranges:
        page += _read(conn, wanted, range_, limit - len(page))
        if len(page) >= limit:
            break
    return page


def skus_with_waiting(conn: sa.Connection, skus: Iterable[str]) -> set[str]:
    """One index probe per SKU (EXISTS), however many shipments wait for it."""
    wanted = set(skus)
    if not wanted:
        return set()
    asked = sa.func.unnest(text_array(wanted)).table_valued("sku").render_derived("asked")
    waits = sa.exists().where(waiting_skus.c.sku == asked.c.sku)
    return set(conn.execute(sa.select(asked.c.sku).where(waits)).scalars())


def _read(
    conn: sa.Connection, skus: set[str] | None, range_: _Range, limit: int
) -> list[Candidate]:
    if skus is None:
        query = sa.select(shipments).where(_IS_WAITING, *range_.where(shipments))
        rows = conn.execute(query.order_by(*range_.order_by(shipments)).limit(limit))
        return [candidate_from_row(row) for row in rows.mappings()]
    asked = sa.func.unnest(text_array(skus)).table_valued("sku").render_derived("asked")
    per_sku = (
        sa.select(waiting_skus.c.priority, waiting_skus.c.entered_at, waiting_skus.c.shipment_id)
        .where(waiting_skus.c.sku == asked.c.sku, *range_.where(waiting_skus))
        .order_by(*range_.order_by(waiting_skus))
        .limit(limit)
        .lateral("per_sku")
    )
    keys = (
        sa.select(per_sku.c.priority, per_sku.c.entered_at, per_sku.c.shipment_id)
        .select_from(asked.join(per_sku, sa.true()))
        .distinct()
        .order_by(*range_.order_by(per_sku))
        .limit(limit)
        .subquery("page_keys")
    )
    query = (
        sa.select(shipments)
        .join(keys, keys.c.shipment_id == shipments.c.shipment_id)
        .where(_IS_WAITING)
        .order_by(*range_.order_by(keys))
    )
    return [candidate_from_row(row) for row in conn.execute(query).mappings()]
