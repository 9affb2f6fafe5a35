"""The outbox: output records written in the state's transaction, published by a relay.

Writers (``queue``) add rows inside the unit of work, so an event is published if and only
if its effect committed. The relay reads them through ``PostgresOutbox``: the rows a
transaction just wrote (``rows``, the fast path right after commit), or whatever is left
(``pending``, the sweeper after a crash). Delivery is at least once: a row published but
not yet marked is published again; subscribers dedupe by the CloudEvents id.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from backorder_worker.adapters.postgres.rows import copy_rows
from backorder_worker.adapters.postgres.tables import outbox
from backorder_worker.service_layer.ports import DeadLetter, OutboxRow

Headers = Sequence[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class Queued:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers
    event_id: str | None


def dead_letter_record(letter: DeadLetter, topic: str) -> Queued:
    """A dead letter as the record to publish: the original key, value and headers, with
    the error and the source position as headers (SPEC §3)."""
    ours = {
        "error.type": letter.error_type.encode("utf-8"),
        "error.message": letter.error_message.encode("utf-8"),
        "source.topic": letter.source_topic.encode("utf-8"),
        "source.partition": str(letter.source_partition).encode("ascii"),
        "source.offset": str(letter.source_offset).encode("ascii"),
    }
    # A dead letter replayed into dead-letter again carries the latest error only.
    theirs = [(name, raw) for name, raw in letter.headers if name not in ours]
    return Queued(topic, letter.key, letter.value, [*ours.items(), *theirs], None)


COPY_FROM = 200  # rows: from here on COPY beats an INSERT ... RETURNING of many pages

_NEXT_IDS = sa.text(
    "SELECT nextval(pg_get_serial_sequence('outbox', 'id')) FROM generate_series(1, :count)"
)


def queue(conn: sa.Connection, records: Sequence[Queued]) -> list[int]:
    """Adds records to publish; returns their ids in the same order (ids grow in write
    order). A few rows go in one INSERT; many (a burst's releases) take their ids from the
    sequence first and go in by COPY, which costs a fraction of the parameters' parsing."""
    if not records:
        return []
    if len(records) >= COPY_FROM:
        return _copy(conn, records)
    rows = [
        {
            "event_id": r.event_id,
            "topic": r.topic,
            "key": r.key,
            "value": r.value,
            "headers": _headers_json(r.headers),
        }
        for r in records
    ]
    statement = sa.insert(outbox).returning(outbox.c.id, sort_by_parameter_order=True)
    return [int(row_id) for row_id in conn.execute(statement, rows).scalars()]


def _copy(conn: sa.Connection, records: Sequence[Queued]) -> list[int]:
    ids = sorted(int(i) for i in conn.execute(_NEXT_IDS, {"count": len(records)}).scalars())
    rows = [
        {
            "id": row_id,
            "event_id": r.event_id,
            "topic": r.topic,
            "key": r.key,
            "value": r.value,
            "headers": _headers_json(r.headers),
        }
        for row_id, r in zip(ids, records, strict=True)
    ]
    copy_rows(conn, outbox, rows)
    return ids


def _headers_json(headers: Headers) -> list[list[str]]:
    return [[name, base64.b64encode(raw).decode("ascii")] for name, raw in headers]


class PostgresOutbox:
    """The ``Outbox`` port on Postgres; each call is its own short transaction."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def rows(self, ids: Sequence[int]) -> list[OutboxRow]:
        if not ids:
            return []
        query = _unpublished().where(outbox.c.id == sa.any_(_bigint_array(ids)))
        with self._engine.connect() as conn:
            return [_row(row) for row in conn.execute(query.order_by(outbox.c.id)).mappings()]

    def pending(self, limit: int, older_than_s: float) -> list[OutboxRow]:
        # The row locks end with this short transaction: they only keep two sweepers from
        # reading the same rows at the same moment. A duplicate later is allowed.
        cutoff = _seconds_ago(older_than_s)
        query = (
            _unpublished()
            .where(outbox.c.created_at <= cutoff)
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._engine.begin() as conn:
            return [_row(row) for row in conn.execute(query).mappings()]

    def mark_published(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        with self._engine.begin() as conn:
            # A mark lost in a crash only means the row goes out once more (at least once,
            # same id), so its commit does not wait for the WAL flush: one fsync less a batch.
            conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.id == sa.any_(_bigint_array(ids)), outbox.c.published_at.is_(None))
                .values(published_at=sa.func.now())
            )

    def backlog(self) -> tuple[int, float]:
        age = sa.func.extract("epoch", sa.func.now() - sa.func.min(outbox.c.created_at))
        query = sa.select(sa.func.count(), sa.func.coalesce(age, 0)).where(
            outbox.c.published_at.is_(None)
        )
        with self._engine.connect() as conn:
            count, oldest = conn.execute(query).one()
        return int(count), max(0.0, float(oldest))

    def purge_published(self, older_than_s: float) -> int:
        """Deletes rows published more than ``older_than_s`` ago (by the database's clock),
        in small batches (retention.py); returns how many."""
        from backorder_worker.adapters.postgres.retention import OUTBOX, trim_all

        with self._engine.connect() as conn:
            cutoff = conn.execute(sa.select(_seconds_ago(older_than_s))).scalar_one()
        return trim_all(self._engine, OUTBOX, cutoff)


def _unpublished() -> sa.Select[Any]:
    return sa.select(outbox).where(outbox.c.published_at.is_(None))


def _seconds_ago(seconds: float) -> sa.ColumnElement[Any]:
    interval = sa.func.make_interval(0, 0, 0, 0, 0, 0, sa.literal(float(seconds), sa.Float))
    return sa.func.now() - interval


def _bigint_array(ids: Sequence[int]) -> sa.BindParameter[Any]:
    distinct: Any = sorted(set(ids))
    return sa.bindparam(None, distinct, type_=ARRAY(sa.BigInteger), unique=True)


def _row(row: sa.RowMapping) -> OutboxRow:
    return OutboxRow(
        id=row["id"],
        topic=row["topic"],
        key=row["key"],
        value=row["value"],
        headers=[(name, base64.b64decode(encoded)) for name, encoded in row["headers"]],
        event_id=row["event_id"],
    )
