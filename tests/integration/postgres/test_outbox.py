"""The outbox as the relay sees it: fresh rows, pending rows, marks, backlog."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from backorder_worker.adapters.postgres.outbox import COPY_FROM, PostgresOutbox
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.adapters.postgres.tables import outbox
from backorder_worker.service_layer.ports import DeadLetter, OutboxRow


def _letters(uow: PostgresUnitOfWork, count: int) -> list[int]:
    with uow() as store:
        for n in range(count):
            store.dead_letter(DeadLetter(None, f"v{n}".encode(), "t", "m", "in", 0, n))
        return store.outbox_ids()


def test_rows_written_by_a_transaction_are_read_back_in_order_until_published(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox
) -> None:
    ids = _letters(uow, 3)
    assert ids == sorted(ids) and len(set(ids)) == 3

    assert [row.value for row in relay_outbox.rows(list(reversed(ids)))] == [b"v0", b"v1", b"v2"]
    relay_outbox.mark_published(ids[:2])
    assert [row.id for row in relay_outbox.rows(ids)] == ids[2:]
    assert relay_outbox.rows([]) == []


def test_pending_rows_are_the_old_enough_unpublished_ones_oldest_first(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox
) -> None:
    ids = _letters(uow, 3)
    assert relay_outbox.pending(10, older_than_s=3600) == []

    assert [row.id for row in relay_outbox.pending(2, older_than_s=0)] == ids[:2]
    relay_outbox.mark_published([ids[0]])
    assert [row.id for row in relay_outbox.pending(10, older_than_s=0)] == ids[1:]


def test_pending_skips_rows_another_sweeper_holds(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox, engine: sa.Engine
) -> None:
    ids = _letters(uow, 3)
    with engine.begin() as other:
        other.execute(sa.select(outbox.c.id).where(outbox.c.id == ids[0]).with_for_update())
        assert [row.id for row in relay_outbox.pending(10, older_than_s=0)] == ids[1:]


def test_the_backlog_counts_unpublished_rows_and_ages_the_oldest(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox
) -> None:
    assert relay_outbox.backlog() == (0, 0.0)
    ids = _letters(uow, 2)
    time.sleep(0.05)

    count, age = relay_outbox.backlog()
    assert count == 2 and 0.04 < age < 60
    relay_outbox.mark_published(ids)
    relay_outbox.mark_published(ids)  # twice is harmless (at-least-once relays)
    assert relay_outbox.backlog() == (0, 0.0)


def test_published_rows_are_purged_once_old_enough(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox
) -> None:
    ids = _letters(uow, 2)
    relay_outbox.mark_published(ids[:1])

    assert relay_outbox.purge_published(older_than_s=3600) == 0
    assert relay_outbox.purge_published(older_than_s=0) == 1
    assert relay_outbox.backlog()[0] == 1


def test_a_burst_of_rows_goes_in_with_ids_in_write_order_and_every_header_intact(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox
) -> None:
    count = COPY_FROM + 50  # the COPY path
    with uow() as store:
        store.dead_letter(DeadLetter(None, b"before", "t", "m", "in", 0, 0))
        store.outbox_ids()  # one row by INSERT first: the sequence must go on from it
        for n in range(count):
            headers = (("h", bytes([n % 256, 0, 255])),)
            letter = DeadLetter(f"k{n}".encode(), f"v{n}".encode(), "t", "m", "in", 0, n, headers)
            store.dead_letter(letter)
        ids = store.outbox_ids()

    assert len(ids) == count + 1 and ids == sorted(ids) and len(set(ids)) == len(ids)
    rows = relay_outbox.rows(ids)
    assert [row.value for row in rows] == [b"before"] + [f"v{n}".encode() for n in range(count)]
    assert rows[-1].key == f"k{count - 1}".encode()
    assert dict(rows[-1].headers)["h"] == bytes([(count - 1) % 256, 0, 255])
    assert dict(rows[-1].headers)["source.offset"] == str(count - 1).encode()


def test_the_fast_path_marks_its_rows_in_a_transaction_that_commits_without_the_wal_flush(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox, engine: sa.Engine
) -> None:
    ids = _letters(uow, 2)
    rows = relay_outbox.rows(ids)
    during: list[str] = []
    with engine.connect() as conn:
        default = conn.execute(sa.text("SHOW synchronous_commit")).scalar_one()

    def publish(taken: list[OutboxRow]) -> list[int]:
        return [row.id for row in taken]

    def after(_c: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "SKIP LOCKED" in statement:  # the SELECT that takes the rows: no SET of its own
            during.append(cursor.connection.execute("SHOW synchronous_commit").fetchone()[0])

    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        assert relay_outbox.deliver(rows, publish) == 2
        assert relay_outbox.deliver(rows, publish) == 0  # none left unpublished
    finally:
        sa.event.remove(engine, "after_cursor_execute", after)
    assert during == ["off", default]  # no row taken the second time: it changed nothing
    assert relay_outbox.rows(ids) == []
    with engine.connect() as conn:  # SET LOCAL: it ended with its transaction
        assert conn.execute(sa.text("SHOW synchronous_commit")).scalar_one() == default
