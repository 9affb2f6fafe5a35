"""Every replica sweeps the outbox at once (no lease): two sweepers on real Postgres, each
with its own engine, must never publish one row twice.

The publisher here stands in for Kafka and records what it was given: what is under test
is the row locking in Postgres, which decides what each sweeper is handed."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa

from backorder_worker.adapters.kafka.relay import OutboxRelay
from backorder_worker.adapters.postgres.engine import make_engine
from backorder_worker.adapters.postgres.outbox import PostgresOutbox
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.service_layer.ports import DeadLetter, OutboxRow


class RecordingPublisher:
    """Acknowledges every row; `hold` (when set) keeps the first call waiting until
    `release` is set, with the rows it was handed already recorded."""

    def __init__(self, hold: bool = False) -> None:
        self.published: list[int] = []
        self.handed = threading.Event()
        self.release = threading.Event()
        self._hold = hold
        self._lock = threading.Lock()

    def publish(self, rows: Sequence[OutboxRow], timeout_s: float) -> list[int]:
        with self._lock:
            self.published += [row.id for row in rows]
        if self._hold and not self.handed.is_set():
            self.handed.set()
            assert self.release.wait(10), "the test never let the held sweeper go on"
        return [row.id for row in rows]


def _letters(uow: PostgresUnitOfWork, count: int) -> list[int]:
    with uow() as store:
        for n in range(count):
            store.dead_letter(DeadLetter(None, f"v{n}".encode(), "t", "m", "in", 0, n))
        return store.outbox_ids()


def test_a_sweeper_publishing_rows_keeps_them_from_another_until_it_has_marked_them(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox, migrated_url: str
) -> None:
    ids = _letters(uow, 6)
    other_engine = make_engine(migrated_url)
    held, free = RecordingPublisher(hold=True), RecordingPublisher()
    first = OutboxRelay(relay_outbox, held)
    second = OutboxRelay(PostgresOutbox(other_engine), free)
    try:
        sweeping = threading.Thread(target=lambda: first.sweep(limit=4, older_than_s=0))
        sweeping.start()
        assert held.handed.wait(10), "the first sweeper was handed nothing"
        # The first is between its publish and its mark: its rows are not the second's.
        assert second.sweep(limit=10, older_than_s=0) == 2
        held.release.set()
        sweeping.join(10)
        assert second.sweep(limit=10, older_than_s=0) == 0  # marked by the first meanwhile
    finally:
        held.release.set()
        other_engine.dispose()

    assert held.published == ids[:4]
    assert free.published == ids[4:]
    assert relay_outbox.backlog()[0] == 0


def test_many_sweepers_at_once_publish_every_row_exactly_once(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox, migrated_url: str
) -> None:
    ids = _letters(uow, 400)
    engines = [make_engine(migrated_url) for _ in range(4)]
    publishers = [RecordingPublisher() for _ in engines]
    relays = [
        OutboxRelay(PostgresOutbox(engine), publisher)
        for engine, publisher in zip(engines, publishers, strict=True)
    ]
    start = threading.Barrier(len(relays))

    def sweep_until_empty(relay: OutboxRelay) -> None:
        start.wait()
        while relay.sweep(limit=7, older_than_s=0) or relay_outbox.backlog()[0]:
            pass

    threads = [threading.Thread(target=sweep_until_empty, args=(relay,)) for relay in relays]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for engine in engines:
            engine.dispose()

    copies = Counter(row_id for publisher in publishers for row_id in publisher.published)
    assert sorted(copies) == ids
    assert [row_id for row_id, count in copies.items() if count > 1] == []
    assert sum(1 for publisher in publishers if publisher.published) > 1, "no concurrency"


def test_a_row_stays_locked_while_its_sweeper_publishes_it(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox, engine: sa.Engine
) -> None:
    [row_id] = _letters(uow, 1)
    held = RecordingPublisher(hold=True)
    sweeping = threading.Thread(
        target=lambda: OutboxRelay(relay_outbox, held).sweep(limit=1, older_than_s=0)
    )
    sweeping.start()
    try:
        assert held.handed.wait(10)
        with engine.connect() as conn:
            free = conn.execute(
                sa.text("select id from outbox where id = :id for update skip locked"),
                {"id": row_id},
            ).all()
        assert free == [], "the sweeper publishes a row it does not hold locked"
    finally:
        held.release.set()
        sweeping.join(10)
    assert relay_outbox.backlog()[0] == 0
