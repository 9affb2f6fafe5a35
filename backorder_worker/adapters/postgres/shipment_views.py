"""Read-only queries for operators: the ``waiting`` command and the waiting-room gauges.

These answer "who waits, and why": a filtered list of the waiting room in release order
(FIFO), one shipment with every reason stored at its last evaluation and its whole
history, and the room's size and age. They never lock and never write; each call reads
in one short transaction, so a list and its total agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONPATH

from backorder_worker.adapters.postgres.rows import shipment_from_row, utc
from backorder_worker.adapters.postgres.tables import shipment_history, shipments, waiting_skus
from backorder_worker.domain.model import Shipment

# A literal, not a parameter, so that the partial indexes of the waiting room apply.
_IS_WAITING = shipments.c.state == sa.literal_column("'WAITING'")
# A reason about the location itself; a BOPIS shipment names every location but its
# pickup one ("not the pickup location"), which says nothing about those locations.
_NAMES_LOCATION = sa.cast(
    sa.literal('$[*] ? (@.location_id == $location && @.fence != "bopis-pickup-location")'),
    JSONPATH,
)


@dataclass(frozen=True, slots=True)
class StoredReason:
    fence: str
    mode: str
    detail: str
    sku: str | None = None
    location_id: str | None = None
    requested: int | None = None
    assignable: int | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: datetime
    event_id: str
    event_type: str
    state: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ShipmentView:
    """A shipment as stored, in any state; ``history`` and ``children`` only when asked."""

    shipment: Shipment
    state: str
    entered_at: datetime | None
    backordered_at: datetime | None
    expected_release_by: datetime | None  # while waiting
    overdue: bool  # waiting, and flagged or past expected_release_by
    reasons: tuple[StoredReason, ...]  # while waiting or unroutable: its last evaluation's
    parent_id: str | None = None
    location_id: str | None = None
    expected_date: date | None = None
    updated_at: datetime | None = None
    history: tuple[HistoryEntry, ...] = ()
    children: tuple[ShipmentView, ...] = ()


@dataclass(frozen=True, slots=True)
class WaitingFilter:
    sku: str | None = None
    location_id: str | None = None  # the pickup location, or a location a reason is about
    older_than: timedelta | None = None  # entered the room longer ago than this
    overdue_only: bool = False
    limit: int = 50


@dataclass(frozen=True, slots=True)
class WaitingStats:
    waiting: int
    overdue: int
    oldest_entered_at: datetime | None


def waiting_shipments(
    engine: sa.Engine, where: WaitingFilter, now: datetime
) -> tuple[list[ShipmentView], int]:
    """The waiting shipments that pass the filter, oldest first, and how many pass it."""
    conditions = _conditions(where, now)
    listed = (
        sa.select(shipments)
        .where(*conditions)
        .order_by(shipments.c.entered_at, shipments.c.shipment_id)
        .limit(where.limit)
    )
    total = sa.select(sa.func.count()).select_from(shipments).where(*conditions)
    with engine.connect() as conn, conn.begin():
        conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        rows = [_view(row, now) for row in conn.execute(listed).mappings()]
        return rows, int(conn.execute(total).scalar_one())


def shipment_view(engine: sa.Engine, shipment_id: str, now: datetime) -> ShipmentView | None:
    """One shipment with its reasons, its history (oldest first) and its children."""
    with engine.connect() as conn, conn.begin():
        conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        row = conn.execute(
            sa.select(shipments).where(shipments.c.shipment_id == shipment_id)
        ).first()
        if row is None:
            return None
        history = conn.execute(
            sa.select(shipment_history)
            .where(shipment_history.c.shipment_id == shipment_id)
            .order_by(shipment_history.c.id)
        ).mappings()
        entries = tuple(
            HistoryEntry(
                h["at"].astimezone(UTC), h["event_id"], h["event_type"], h["state"], h["detail"]
            )
            for h in history
        )
        children = conn.execute(
            sa.select(shipments)
            .where(shipments.c.parent_id == shipment_id)
            .order_by(shipments.c.shipment_id)
        ).mappings()
        kids = tuple(_view(child, now) for child in children)
        view = _view(row._mapping, now)
    return replace(view, history=entries, children=kids)


def waiting_stats(engine: sa.Engine) -> WaitingStats:
    """The room's size, how many of it are flagged overdue, and its oldest entry time.

    Every replica asks every few seconds, so each part is answered by a partial index of
    the waiting room alone (index-only), never by the wide shipment rows: the size by the
    FIFO index, the ones not flagged by the overdue sweep's own index, the oldest by the
    FIFO index's first entry. A scan of the rows cost ~0.5 s of Postgres per replica per
    refresh with 1,000,000 waiting."""
    c = shipments.c
    waiting = sa.select(sa.func.count()).where(_IS_WAITING).scalar_subquery()
    not_flagged = (
        sa.select(sa.func.count()).where(_IS_WAITING, sa.not_(c.overdue)).scalar_subquery()
    )
    oldest = sa.select(sa.func.min(c.entered_at)).where(_IS_WAITING).scalar_subquery()
    with engine.connect() as conn:
        size, unflagged, first = conn.execute(sa.select(waiting, not_flagged, oldest)).one()
    return WaitingStats(int(size), int(size) - int(unflagged), utc(first))


def _conditions(where: WaitingFilter, now: datetime) -> list[sa.ColumnElement[bool]]:
    c = shipments.c
    conditions: list[sa.ColumnElement[bool]] = [_IS_WAITING]
    if where.sku is not None:
        needing = sa.select(waiting_skus.c.shipment_id).where(waiting_skus.c.sku == where.sku)
        conditions.append(c.shipment_id.in_(needing))
    if where.location_id is not None:
        named = sa.func.jsonb_path_exists(
            c.reasons, _NAMES_LOCATION, sa.func.jsonb_build_object("location", where.location_id)
        )
        conditions.append(sa.or_(c.pickup_location_id == where.location_id, named))
    if where.older_than is not None:
        conditions.append(c.entered_at < now - where.older_than)
    if where.overdue_only:
        conditions.append(sa.or_(c.overdue, c.expected_release_by < now))
    return conditions


def _view(row: sa.RowMapping, now: datetime) -> ShipmentView:
    due = utc(row["expected_release_by"])
    state = row["state"]
    waiting = state == "WAITING"
    # A released or cancelled row keeps the reasons of its last wait: history, not reasons.
    current = waiting or state == "UNROUTABLE"
    return ShipmentView(
        shipment=shipment_from_row(row),
        state=state,
        entered_at=utc(row["entered_at"]),
        backordered_at=utc(row["backordered_at"]),
        expected_release_by=due if waiting else None,
        overdue=waiting and (bool(row["overdue"]) or (due is not None and due < now)),
        reasons=tuple(_reason(r) for r in row["reasons"]) if current else (),
        parent_id=row["parent_id"],
        location_id=row["location_id"],
        expected_date=row["expected_date"],
        updated_at=utc(row["updated_at"]),
    )


def _reason(stored: dict[str, Any]) -> StoredReason:
    return StoredReason(
        fence=stored["fence"],
        mode=stored["mode"],
        detail=stored.get("detail", ""),
        sku=stored.get("sku"),
        location_id=stored.get("location_id"),
        requested=stored.get("requested"),
        assignable=stored.get("assignable"),
    )
