"""The retention job on real Postgres: a long run of simulated days, with a trim after
each, keeps the outbox, inbox, history and ledger bounded, and never changes what a
stock.level would read from the ledger.

Days pass by the handlers' clock (`Driver`), which stamps history and ledger rows. The inbox
and outbox are stamped by the database's `now()`, so each day's rows of those two are
re-stamped with the simulated day before the trim, as if written then.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.postgres.lease import PostgresLease
from backorder_worker.adapters.postgres.outbox import PostgresOutbox
from backorder_worker.adapters.postgres.retention import LEDGER, trim_all
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.adapters.postgres.tables import (
    allocations,
    inbox,
    outbox,
    shipment_history,
)
from backorder_worker.entrypoints.jobs.retention import TableRetention
from backorder_worker.service_layer import commands as c
from backorder_worker.settings import RetentionSettings
from tests.support.driver import T0, Driver, order

DAYS = 24
SHIPMENTS_A_DAY = 6
RETENTION = RetentionSettings(outbox_published_days=2, inbox_days=4, history_days=3, ledger_days=2)


@pytest.fixture
def feed(uow: PostgresUnitOfWork) -> Driver:
    made = Driver(uow)
    made.seed_catalog(skus=("KTP",))
    return made


def count(engine: sa.Engine, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
        )


def a_day(feed: Driver, day: int) -> None:
    """Shipments wait for KTP, stock at A releases them, one at B too; A's stock system
    then reports its level (B never does)."""
    start = T0 + timedelta(days=day)
    feed.clock = start
    ids = [f"S{day}-{n}" for n in range(SHIPMENTS_A_DAY)]
    for shipment_id in ids:
        feed.apply(order(shipment_id, ("KTP", 1)))
    feed.apply(c.StowStock("A", "KTP", SHIPMENTS_A_DAY - 1))
    feed.apply(c.StowStock("B", "KTP", 1))
    feed.apply(c.SetStockLevel("A", "KTP", available=3, as_of=feed.clock + timedelta(seconds=30)))


def stamp_the_day(engine: sa.Engine, outbox_rows: PostgresOutbox, at: datetime) -> None:
    """Publishes the day's outputs and dates the day's inbox and outbox rows `at`."""
    with engine.connect() as conn:
        ids = list(
            conn.execute(sa.select(outbox.c.id).where(outbox.c.published_at.is_(None))).scalars()
        )
    outbox_rows.mark_published(ids)
    with engine.begin() as conn:
        recent = sa.func.now() - sa.text("interval '1 hour'")
        conn.execute(sa.update(inbox).where(inbox.c.applied_at > recent).values(applied_at=at))
        conn.execute(
            sa.update(outbox)
            .where(outbox.c.created_at > recent)
            .values(created_at=at, published_at=at)
        )


def ledger_reads(engine: sa.Engine, since: datetime, until: datetime) -> list[int]:
    """What `assigned_since` answers at A for every as_of a stock.level could still carry
    (after A's level_as_of), hour by hour up to `until`."""
    answers = []
    with engine.connect() as conn:
        from backorder_worker.adapters.postgres.stock import assigned_since

        at = since
        while at <= until:
            answers.append(assigned_since(conn, "A", "KTP", at))
            at += timedelta(hours=1)
    return answers


def level_as_of(engine: sa.Engine) -> datetime:
    with engine.connect() as conn:
        found = conn.execute(
            sa.text("select level_as_of from stock_positions where location_id = 'A'")
        ).scalar_one()
    assert isinstance(found, datetime)
    return found


def test_a_long_run_with_a_trim_a_day_keeps_every_table_bounded(
    engine: sa.Engine, feed: Driver, relay_outbox: PostgresOutbox
) -> None:
    retention = TableRetention(engine, RETENTION, PostgresLease(engine, "retention-test"))
    written = {"inbox": 0, "outbox": 0, "history": 0, "ledger at A": 0}
    peaks = dict.fromkeys(written, 0)
    tables = {
        "inbox": (inbox,),
        "outbox": (outbox,),
        "history": (shipment_history,),
        "ledger at A": (allocations, allocations.c.location_id == "A"),
    }
    per_day = {}
    for day in range(DAYS):
        before = {name: count(engine, *spec) for name, spec in tables.items()}
        a_day(feed, day)
        now = T0 + timedelta(days=day, hours=12)
        stamp_the_day(engine, relay_outbox, T0 + timedelta(days=day, hours=1))
        for name, spec in tables.items():
            added = count(engine, *spec) - before[name]
            written[name] += added
            per_day[name] = max(per_day.get(name, 0), added)

        deleted = retention.trim(now)

        assert set(deleted) == {"outbox", "inbox", "history", "ledger"}
        for name, spec in tables.items():
            peaks[name] = max(peaks[name], count(engine, *spec))

    days_kept = {
        "inbox": RETENTION.inbox_days,
        "outbox": RETENTION.outbox_published_days,
        "history": RETENTION.history_days,
        "ledger at A": RETENTION.ledger_days,
    }
    for name, days in days_kept.items():
        bound = (days + 1) * per_day[name]
        assert peaks[name] <= bound, (name, peaks[name], bound)
        assert written[name] > 3 * bound, f"the run is too short to show {name} bounded"


def test_the_ledger_of_a_position_never_levelled_is_kept(engine: sa.Engine, feed: Driver) -> None:
    for day in range(6):
        a_day(feed, day)
    at_b = count(engine, allocations, allocations.c.location_id == "B")

    trim_all(engine, LEDGER, T0 + timedelta(days=30))

    assert at_b > 0
    assert count(engine, allocations, allocations.c.location_id == "B") == at_b
    assert count(engine, allocations, allocations.c.location_id == "A") == 0


def test_trimming_the_ledger_changes_nothing_a_stock_level_can_read(
    engine: sa.Engine, feed: Driver
) -> None:
    for day in range(6):
        a_day(feed, day)
        # A draw after A's last level: a later stock.level must still count it.
        feed.apply(order(f"late-{day}", ("KTP", 1)))
        feed.apply(c.StowStock("A", "KTP", 1))
    levelled = level_as_of(engine)
    until = T0 + timedelta(days=8)
    before = ledger_reads(engine, levelled, until)
    assert before[0] > 0, "a draw after the level exists, or the check proves nothing"

    deleted = trim_all(engine, LEDGER, T0 + timedelta(days=30))

    assert deleted > 0
    assert ledger_reads(engine, levelled, until) == before


def test_unpublished_outbox_rows_are_kept_whatever_their_age(
    engine: sa.Engine, feed: Driver, relay_outbox: PostgresOutbox
) -> None:
    a_day(feed, 0)
    with engine.begin() as conn:
        conn.execute(sa.update(outbox).values(created_at=T0))
    unpublished = count(engine, outbox)
    retention = TableRetention(engine, RETENTION, PostgresLease(engine, "retention-test"))

    retention.trim(T0 + timedelta(days=365))

    assert unpublished > 0
    assert count(engine, outbox) == unpublished


def test_a_replica_trims_only_when_its_turn_comes_and_no_other_holds_the_lease(
    engine: sa.Engine, feed: Driver
) -> None:
    a_day(feed, 0)
    elapsed = [0.0]
    lease = PostgresLease(engine, "table-retention-test")
    replica = TableRetention(engine, RETENTION, lease, every_s=300, monotonic=lambda: elapsed[0])
    another = PostgresLease(engine, "table-retention-test")
    a_month_later = T0 + timedelta(days=30)
    history = count(engine, shipment_history)

    assert another.acquire()
    try:
        assert replica.maybe_trim(a_month_later) is None  # another replica trims
    finally:
        another.release()
    assert count(engine, shipment_history) == history > 0
    assert replica.maybe_trim(a_month_later) is None  # not its turn yet
    elapsed[0] += 300
    trimmed = replica.maybe_trim(a_month_later)

    assert trimmed is not None and trimmed["history"] == history
    assert count(engine, shipment_history) == 0
    assert another.acquire(), "the lease was given back after the turn"
    another.release()
