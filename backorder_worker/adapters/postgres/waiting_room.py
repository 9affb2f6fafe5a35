"""The waiting room's index (``waiting_skus``): the one module that writes it and reads it.

A shipment is WAITING exactly when it has ``waiting_skus`` rows, one per SKU it needs:
entering the room writes them (with the release-order key), leaving it deletes them, in
the same transaction as the state change (``decision_writes``, ``shipments.cancel``).

Reading the waiting room in release order (R7), a page at a time, from the index.

Release order is (priority desc when the order is PRIORITY, entered_at, shipment_id).
Pages are keyset pages: "strictly after this key", never OFFSET. Because the priority order
mixes directions, a PRIORITY page after a key is read in two ranges, each one an index
range scan: the rest of the key's own priority, then the lower priorities.

For a set of SKUs, each SKU's own index range yields at most ``limit`` entries (a
``LATERAL`` subquery per SKU) and the union is cut to ``limit`` distinct shipments. That is
exact: the shipments before a page's last one, for any one of its SKUs, are all in the page.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert

from backorder_worker.adapters.postgres.rows import (
    candidate_from_row,
    json_rows,
    recordset,
    text_array,
)
from backorder_worker.adapters.postgres.tables import shipments, waiting_skus
from backorder_worker.domain.model import Candidate, ReleaseOrder, Shipment
from backorder_worker.service_layer.ports import OrderKey

# A literal, not a parameter, so that the partial indexes apply to every plan.
_IS_WAITING = shipments.c.state == sa.literal_column("'WAITING'")

# What a candidate is made of: not its stored reasons, the largest column by far.
_CANDIDATE = [
    shipments.c[name]
    for name in (
        "shipment_id",
        "order_id",
        "fulfillment_type",
        "lines",
        "pickup_location_id",
        "priority",
        "split_allowed",
        "backorder_days",
        "entered_at",
        "backordered_at",
    )
]


@dataclass(frozen=True, slots=True)
class _Range:
    """One index range: a filter on (priority, entered_at, shipment_id) and its order.
    Its statement depends on its shape only; the key it starts after is a parameter."""

    order: ReleaseOrder
    has_after: bool
    same_priority: bool  # PRIORITY after a key: the rest of the key's own priority

    def where(self, source: sa.FromClause) -> list[sa.ColumnElement[bool]]:
        c = source.c
        if not self.has_after:
            return []
        tail = sa.tuple_(c.entered_at, c.shipment_id) > sa.tuple_(
            sa.bindparam("after_entered_at", type_=sa.DateTime(timezone=True)),
            sa.bindparam("after_shipment_id", type_=sa.Text),
        )
        if self.order is ReleaseOrder.FIFO:
            return [tail]
        after_priority = sa.bindparam("after_priority", type_=sa.Integer)
        if self.same_priority:
            return [c.priority == after_priority, tail]
        return [c.priority < after_priority]

    def key_columns(self, source: sa.FromClause) -> list[sa.ColumnElement[object]]:
        c = source.c
        if self.order is ReleaseOrder.FIFO:
            return [c.entered_at, c.shipment_id]
        return [c.priority, c.entered_at, c.shipment_id]

    def order_by(self, source: sa.FromClause) -> list[sa.ColumnElement[object]]:
        c = source.c
        if self.order is ReleaseOrder.FIFO or self.same_priority:
            return [c.entered_at, c.shipment_id]
        return [c.priority.desc(), c.entered_at, c.shipment_id]


# Entries in one upsert over one JSON document (``recordset``): one statement text and
# plan for any number of rows, and no text-format arrays to dump and escape in Python.
_ENTERED = recordset(
    "entered",
    "entries",
    shipment_id=sa.Text(),
    sku=sa.Text(),
    priority=sa.Integer(),
    entered_at=sa.DateTime(timezone=True),
)
_INSERT_ENTRIES = insert(waiting_skus).from_select(
    ["shipment_id", "sku", "priority", "entered_at"], sa.select(_ENTERED)
)
_ENTER = _INSERT_ENTRIES.on_conflict_do_update(
    index_elements=[waiting_skus.c.shipment_id, waiting_skus.c.sku],
    set_={
        "priority": _INSERT_ENTRIES.excluded.priority,
        "entered_at": _INSERT_ENTRIES.excluded.entered_at,
    },
    # no dead row versions when a re-evaluated shipment is re-indexed unchanged
    where=sa.tuple_(waiting_skus.c.priority, waiting_skus.c.entered_at).is_distinct_from(
        sa.tuple_(_INSERT_ENTRIES.excluded.priority, _INSERT_ENTRIES.excluded.entered_at)
    ),
)


def enter_waiting_room(conn: sa.Connection, entries: Sequence[tuple[Shipment, datetime]]) -> None:
    """Indexes each (shipment, entered_at) under every SKU it needs, in one statement. A
    shipment given twice is indexed as the later entry says (one statement cannot upsert
    a row twice)."""
    rows = {(s.shipment_id, sku): (s.priority, at) for s, at in entries for sku in sorted(s.skus)}
    if not rows:
        return
    document = [
        {"shipment_id": shipment_id, "sku": sku, "priority": priority, "entered_at": at}
        for (shipment_id, sku), (priority, at) in rows.items()
    ]
    conn.execute(_ENTER, {"entries": json_rows(document)})


def leave_waiting_room(conn: sa.Connection, shipment_ids: Sequence[str]) -> None:
    """Takes these shipments out of the index, in one statement."""
    if shipment_ids:
        conn.execute(
            sa.delete(waiting_skus).where(
                waiting_skus.c.shipment_id == sa.any_(text_array(shipment_ids))
            )
        )


def leaving_with(released: Any) -> Any:
    """Takes the shipments in ``released`` (a CTE whose ``shipment_id`` column names them)
    out of the index, as a data-modifying CTE to add to the statement that released them:
    the release and the room's rows go in one round trip."""
    ids = sa.select(released.c.shipment_id).scalar_subquery()
    return sa.delete(waiting_skus).where(waiting_skus.c.shipment_id.in_(ids)).cte("left_room")


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
    has_after = after is not None
    if order is ReleaseOrder.FIFO or after is None:
        ranges = [_Range(order, has_after, same_priority=False)]
    else:
        ranges = [_Range(order, True, same_priority=True), _Range(order, True, False)]
    params: dict[str, Any] = {}
    if after is not None:
        params = {
            "after_entered_at": after.entered_at,
            "after_shipment_id": after.shipment_id,
            "after_priority": after.priority,
        }
    if wanted is not None:
        params["skus"] = sorted(wanted)
    page: list[Candidate] = []
    for range_ in ranges:
        statement = _statement(range_, by_sku=wanted is not None)
        rows = conn.execute(statement, {**params, "limit": limit - len(page)}).mappings()
        page += [candidate_from_row(row) for row in rows]
        if len(page) >= limit:
            break
    return page


def first_pages(
    conn: sa.Connection, skus: Iterable[str], order: ReleaseOrder, limit: int
) -> dict[str, list[Candidate]]:
    """The first page (``waiting_page`` of that SKU alone, after nothing) of each SKU, in
    one statement; a SKU nobody waits for has an empty page."""
    wanted = sorted(set(skus))
    pages: dict[str, list[Candidate]] = {sku: [] for sku in wanted}
    if wanted and limit > 0:
        rows = conn.execute(_first_pages(order), {"skus": wanted, "limit": limit}).mappings()
        for row in rows:
            pages[row["asked_sku"]].append(candidate_from_row(row))
    return pages


@functools.cache
def _statement(range_: _Range, by_sku: bool) -> sa.Select[Any]:
    """Built once per shape: building a statement costs more than running this one."""
    limit = sa.bindparam("limit", type_=sa.Integer)
    if not by_sku:
        query = sa.select(*_CANDIDATE).where(_IS_WAITING, *range_.where(shipments))
        return query.order_by(*range_.order_by(shipments)).limit(limit)
    asked, per_sku = _per_sku(range_)
    keys = (
        sa.select(*range_.key_columns(per_sku))
        .select_from(asked.join(per_sku, sa.true()))
        .distinct()
        .order_by(*range_.order_by(per_sku))
        .limit(limit)
        .subquery("page_keys")
    )
    return (
        sa.select(*_CANDIDATE)
        .join(keys, keys.c.shipment_id == shipments.c.shipment_id)
        .where(_IS_WAITING)
        .order_by(*range_.order_by(keys))
    )


@functools.cache
def _first_pages(order: ReleaseOrder) -> sa.Select[Any]:
    range_ = _Range(order, has_after=False, same_priority=False)
    asked, per_sku = _per_sku(range_)
    return (
        sa.select(asked.c.sku.label("asked_sku"), *_CANDIDATE)
        .select_from(asked.join(per_sku, sa.true()))
        .join(shipments, shipments.c.shipment_id == per_sku.c.shipment_id)
        .where(_IS_WAITING)
        .order_by(asked.c.sku, *range_.order_by(per_sku))
    )


def _per_sku(range_: _Range) -> tuple[Any, Any]:
    """The ``skus`` parameter unnested, and for each SKU its first ``limit`` entries of the
    range, read from the waiting room's index (a ``LATERAL`` subquery)."""
    skus = sa.bindparam("skus", type_=ARRAY(sa.Text))
    asked = sa.func.unnest(skus).table_valued("sku").render_derived("asked")
    # FIFO reads no priority: then the FIFO index alone answers, in order, without the
    # heap; with it the planner took the priority index and sorted a popular SKU's entries.
    per_sku = (
        sa.select(*range_.key_columns(waiting_skus))
        .where(waiting_skus.c.sku == asked.c.sku, *range_.where(waiting_skus))
        .order_by(*range_.order_by(waiting_skus))
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .lateral("per_sku")
    )
    return asked, per_sku
