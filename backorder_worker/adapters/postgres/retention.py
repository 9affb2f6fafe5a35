"""Deleting rows that only record the past, in small batches (the retention job's SQL).

Each `Trim` deletes at most `batch` rows of one table in one short transaction and returns
how many; `trim_all` repeats until a batch comes back short. Small batches keep each
transaction's locks and WAL small, so the worker's batches never wait long behind a trim.
Expired rows are found through the BRIN indexes of migration 0003.

What may go, table by table (`cutoff` = now minus that table's retention):

- ``outbox``: rows written and published before the cutoff (they are on Kafka). A row
  not yet published stays, whatever its age: the sweeper still owes it to Kafka.
- ``inbox``: ids applied before the cutoff. A redelivery or replay of such an event would
  apply it again, hence the rule that the inbox outlives the topics' retention
  (`RetentionSettings`) and `replay`'s refusal of older ranges.
- ``shipment_history``: entries written before the cutoff.
- ``allocations`` (the ledger): entries before the cutoff **that no stock.level can read any
  more**. `set_stock_level` applies a level only when its `as_of` is after the position's
  `level_as_of`, and subtracts the current-stock draws made after that `as_of`
  (`assigned_since`). So a draw from a supply (never counted), or a draw made at or before
  its position's `level_as_of` (every later level's `as_of` is after it), is never read
  again: deleting it changes no decision. A position that never received a stock.level
  keeps its current-stock draws: a first level may carry any `as_of`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from backorder_worker.adapters.postgres.tables import (
    allocations,
    inbox,
    outbox,
    shipment_history,
    stock_positions,
)

BATCH_ROWS = 1000


def _expired_outbox(cutoff: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        outbox.c.created_at < cutoff,
        outbox.c.published_at.is_not(None),
        outbox.c.published_at < cutoff,
    )


def _expired_ledger(cutoff: datetime) -> sa.ColumnElement[bool]:
    levelled_after = (
        sa.select(stock_positions.c.level_as_of)
        .where(
            stock_positions.c.location_id == allocations.c.location_id,
            stock_positions.c.sku == allocations.c.sku,
        )
        .scalar_subquery()
    )
    never_read = sa.or_(allocations.c.supply_id.is_not(None), allocations.c.at <= levelled_after)
    return sa.and_(allocations.c.at < cutoff, never_read)


@dataclass(frozen=True)
class Trim:
    """One table's expiry: its key column, and which rows are expired at a cutoff."""

    table: sa.Table
    key: sa.Column[Any]
    expired: Callable[[datetime], sa.ColumnElement[bool]]

    def batch(self, engine: sa.Engine, cutoff: datetime, limit: int = BATCH_ROWS) -> int:
        """Deletes up to `limit` expired rows in one transaction; returns how many."""
        chosen = sa.select(self.key).where(self.expired(cutoff)).limit(limit)
        with engine.begin() as conn:
            result = conn.execute(sa.delete(self.table).where(self.key.in_(chosen)))
        return int(result.rowcount)


OUTBOX = Trim(outbox, outbox.c.id, _expired_outbox)
INBOX = Trim(inbox, inbox.c.event_id, lambda cutoff: inbox.c.applied_at < cutoff)
HISTORY = Trim(
    shipment_history, shipment_history.c.id, lambda cutoff: shipment_history.c.at < cutoff
)
LEDGER = Trim(allocations, allocations.c.id, _expired_ledger)


def trim_all(
    engine: sa.Engine,
    trim: Trim,
    cutoff: datetime,
    *,
    limit: int = BATCH_ROWS,
    max_batches: int | None = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> int:
    """Batches until one comes back short, `max_batches` ran or `keep_going()` is False;
    returns the rows deleted. What is left is deleted by the next call."""
    deleted = batches = 0
    while keep_going() and (max_batches is None or batches < max_batches):
        count = trim.batch(engine, cutoff, limit)
        deleted, batches = deleted + count, batches + 1
        if count < limit:
            break
    return deleted


def days_before(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)
