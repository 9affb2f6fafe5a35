"""OutboxRelay and OutboxSweeper with a real publisher and an in-memory outbox: rows out and
marked, leftovers swept once old enough, failures left for later, a sweeper that survives
errors and stops cleanly."""

from collections.abc import Callable, Iterator, Sequence

import pytest

from backorder_worker.adapters.kafka import (
    KafkaPublisher,
    OutboxRelay,
    OutboxSweeper,
    ensure_topics,
)
from backorder_worker.service_layer.ports import OutboxRow
from backorder_worker.settings import KafkaSettings
from tests.integration.kafka.support import InMemoryOutbox, outbox_row, read_topic, wait_for

Names = Callable[[str], str]


@pytest.fixture
def publisher(kafka_bootstrap: str) -> Iterator[KafkaPublisher]:
    publisher = KafkaPublisher(KafkaSettings(bootstrap_servers=kafka_bootstrap))
    yield publisher
    publisher.close()


@pytest.fixture
def topic(kafka_bootstrap: str, unique_name: Names) -> str:
    name = unique_name("released")
    ensure_topics(kafka_bootstrap, None, [name])
    return name


def test_relay_publishes_the_rows_of_the_outbox_and_marks_them(
    kafka_bootstrap: str, topic: str, publisher: KafkaPublisher
) -> None:
    outbox = InMemoryOutbox()
    ids = [outbox.add(outbox_row(i, topic, key=f"O-{i}")).id for i in range(1, 6)]
    outbox.add(outbox_row(6, topic))  # written by another transaction: not this call's

    assert OutboxRelay(outbox, publisher).publish(ids) == 5

    assert outbox.marks == [ids] and outbox.unpublished() == [6]
    arrived = read_topic(kafka_bootstrap, topic, 5)
    assert sorted(r.header("event_id") or b"" for r in arrived) == [b"evt-%d" % i for i in ids]
    assert OutboxRelay(outbox, publisher).publish(ids) == 0  # already published: not again


def test_rows_a_transaction_hands_over_are_published_and_marked_without_reading_them_back(
    kafka_bootstrap: str, topic: str, publisher: KafkaPublisher
) -> None:
    class UnreadableOutbox(InMemoryOutbox):
        def rows(self, ids: Sequence[int]) -> list[OutboxRow]:
            raise AssertionError("the fast path read its own rows back")

    outbox = UnreadableOutbox()
    rows = [outbox.add(outbox_row(i, topic, key=f"O-{i}")) for i in range(1, 4)]

    assert OutboxRelay(outbox, publisher).publish_rows(rows) == 3

    assert outbox.marks == [[1, 2, 3]] and outbox.unpublished() == []
    arrived = read_topic(kafka_bootstrap, topic, 3)
    assert sorted(r.header("event_id") or b"" for r in arrived) == [b"evt-1", b"evt-2", b"evt-3"]


def test_a_failed_publish_leaves_the_rows_for_the_sweeper_and_does_not_raise(
    topic: str, publisher: KafkaPublisher
) -> None:
    outbox = InMemoryOutbox()
    outbox.add(outbox_row(1, topic))
    outbox.add(outbox_row(2, "not a valid topic!"))

    class BrokenOutbox(InMemoryOutbox):
        def rows(self, ids: Sequence[int]) -> list[OutboxRow]:
            raise ConnectionError("database went away")

    assert OutboxRelay(outbox, publisher).publish([1, 2]) == 1
    assert outbox.unpublished() == [2]
    assert OutboxRelay(BrokenOutbox(), publisher).publish([1]) == 0


def test_a_programming_error_in_the_outbox_is_not_swallowed(publisher: KafkaPublisher) -> None:
    class BuggyOutbox(InMemoryOutbox):
        def rows(self, ids: Sequence[int]) -> list[OutboxRow]:
            raise TypeError("rows() got an unexpected keyword")

    with pytest.raises(TypeError):
        OutboxRelay(BuggyOutbox(), publisher).publish([1])


def test_the_sweeper_publishes_leftovers_older_than_the_threshold_and_stops_cleanly(
    kafka_bootstrap: str, topic: str, publisher: KafkaPublisher
) -> None:
    outbox = InMemoryOutbox()
    for i in range(1, 8):
        outbox.add(outbox_row(i, topic), age_s=60)  # left behind by a crash
    outbox.add(outbox_row(8, topic), age_s=0)  # the fast path is still on it
    sweeper = OutboxSweeper(
        OutboxRelay(outbox, publisher), interval_s=0.05, limit=3, older_than_s=5
    )

    sweeper.start()
    try:
        assert wait_for(lambda: outbox.unpublished() == [8])
    finally:
        sweeper.stop(timeout_s=5)

    assert not sweeper.is_running()
    assert sweeper.published_total == 7
    assert [len(batch) for batch in outbox.marks[:3]] == [3, 3, 1]  # pages of `limit`
    assert sorted(
        r.header("event_id") or b"" for r in read_topic(kafka_bootstrap, topic, 7)
    ) == sorted(b"evt-%d" % i for i in range(1, 8))


def test_the_sweeper_survives_errors_of_the_outbox_and_sweeps_on(
    topic: str, publisher: KafkaPublisher
) -> None:
    failures = iter([ConnectionError("database down"), ConnectionError("database down")])

    class FlakyOutbox(InMemoryOutbox):
        def sweep(
            self,
            limit: int,
            older_than_s: float,
            publish: Callable[[list[OutboxRow]], Sequence[int]],
        ) -> int:
            failure = next(failures, None)
            if failure is not None:
                raise failure
            return super().sweep(limit, older_than_s, publish)

    outbox = FlakyOutbox()
    outbox.add(outbox_row(1, topic), age_s=60)
    relay = OutboxRelay(outbox, publisher)
    sweeper = OutboxSweeper(relay, interval_s=0.02, max_backoff_s=0.05).start()
    try:
        assert wait_for(lambda: not outbox.unpublished(), timeout_s=5)
        assert next(failures, None) is None  # both failures happened, and the loop went on
    finally:
        sweeper.stop(timeout_s=5)
    assert not sweeper.is_running()
