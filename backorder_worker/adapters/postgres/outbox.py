"""The outbox: output records written in the state's transaction, published by a relay.

Writers (``queue``) add rows inside the unit of work, so an event is published if and only
if its effect committed. The relay publishes them through ``PostgresOutbox``: the rows a
transaction just wrote (``deliver``, the fast path right after commit), or whatever is left
(``sweep``, every replica's sweeper: what a crash or a failed publish left), each under
its row locks (the argument is at ``sweep``). Delivery is at least once: a row published
but not yet marked is published again; subscribers dedupe by the CloudEvents id.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from backorder_worker.adapters.postgres.retention import OUTBOX, trim_all
from backorder_worker.adapters.postgres.rows import copy_rows
from backorder_worker.adapters.postgres.tables import outbox
from backorder_worker.service_layer.ports import DeadLetter, OutboxRow

Headers = Sequence[tuple[str, bytes]]
Publish = Callable[[list[OutboxRow]], Sequence[int]]  # rows out; the ids acknowledged


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
        """Unpublished rows written more than ``older_than_s`` ago, oldest first, skipping
        rows a sweeper holds. The locks end with this read: to publish, use ``sweep``."""
        with self._engine.begin() as conn:
            return [_row(row) for row in conn.execute(_sweepable(limit, older_than_s)).mappings()]

    def sweep(self, limit: int, older_than_s: float, publish: Publish) -> int:
        """Takes up to ``limit`` unpublished rows written more than ``older_than_s`` ago,
        oldest first, hands them to ``publish`` and marks the ids it returns published —
        all in one transaction, which holds the taken rows locked throughout. Returns how
        many rows were marked.

        Why two publishers — every replica's sweeper (no lease), and the fast path
        (``deliver``) — never publish one row twice: a row is published only by the
        transaction whose ``FOR UPDATE SKIP LOCKED`` took it, and that transaction keeps
        the row lock until it has marked the row and committed. Any other one meanwhile
        skips the row (SKIP LOCKED); one that reaches it after the commit re-checks
        ``published_at IS NULL`` on the row's newest version (READ COMMITTED re-evaluates a
        locked row's WHERE against the committed update) and leaves it out. What is left is
        at least once, with the same CloudEvents id, which subscribers dedupe (the outbox's
        contract from the start): a row handed over but not acknowledged is not marked and
        goes out again, as does one whose publisher died between publish and commit (its
        locks die with its session). A frozen publisher holds its rows until its session's
        ``idle_in_transaction_session_timeout`` (engine.py) ends it. Tests:
        tests/integration/postgres/test_concurrent_sweepers.py."""
        with self._engine.begin() as conn:
            # A mark lost in a crash only means the row goes out once more (at least once,
            # same id), so the commit does not wait for the WAL flush.
            conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
            taken = [_row(row) for row in conn.execute(_sweepable(limit, older_than_s)).mappings()]
            if not taken:
                return 0
            published = list(publish(taken))
            _mark(conn, published)
        return len(published)

    def deliver(self, rows: Sequence[OutboxRow], publish: Publish) -> int:
        """The fast path's ``sweep``: of ``rows`` (which a committed transaction wrote), takes
        those still unpublished that no sweeper holds (SKIP LOCKED), hands them to
        ``publish`` and marks the ids it returns, in one transaction that holds them locked
        throughout. Returns how many were marked. A row a sweeper took first is the
        sweeper's to publish: by the argument at ``sweep``, no row goes out from both."""
        if not rows:
            return 0
        with self._engine.begin() as conn:
            # As in ``sweep``, the commit does not wait for the WAL flush; the setting rides
            # on the SELECT (``_held``), one round trip less on every batch's fast path.
            held = set(conn.execute(_held(rows)).scalars())
            mine = [row for row in rows if row.id in held]
            if not mine:
                return 0
            published = list(publish(mine))
            _mark(conn, published)
        return len(published)

    def mark_published(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        with self._engine.begin() as conn:
            # A mark lost in a crash only means the row goes out once more (at least once,
            # same id), so its commit does not wait for the WAL flush: one fsync less a batch.
            conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
            _mark(conn, ids)

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
        with self._engine.connect() as conn:
            cutoff = conn.execute(sa.select(_seconds_ago(older_than_s))).scalar_one()
        return trim_all(self._engine, OUTBOX, cutoff)


def _sweepable(limit: int, older_than_s: float) -> sa.Select[Any]:
    return (
        _unpublished()
        .where(outbox.c.created_at <= _seconds_ago(older_than_s))
        .order_by(outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


# ``SET LOCAL synchronous_commit = off`` as an expression (``set_config``, is_local true):
# evaluated for every row the SELECT produces, so it is in force whenever a row is locked
# (and then marked); when none is, the transaction writes nothing and its commit has no WAL
# to wait for either way. The setting is read at commit, so any point before it will do.
_ASYNC_COMMIT: sa.ColumnClause[Any] = sa.literal_column(
    "set_config('synchronous_commit', 'off', true)"
)


def _held(rows: Sequence[OutboxRow]) -> sa.Select[Any]:
    return (
        sa.select(outbox.c.id, _ASYNC_COMMIT)
        .where(outbox.c.id == sa.any_(_bigint_array([r.id for r in rows])))
        .where(outbox.c.published_at.is_(None))
        .with_for_update(skip_locked=True)
    )


def _mark(conn: sa.Connection, ids: Sequence[int]) -> None:
    if ids:
        conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == sa.any_(_bigint_array(ids)), outbox.c.published_at.is_(None))
            .values(published_at=sa.func.now())
        )


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
