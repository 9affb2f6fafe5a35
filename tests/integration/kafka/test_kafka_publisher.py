"""KafkaPublisher against a real broker: outbox rows out with their headers, per-row failures
reported by omission, single records for the CLI, and a producer outliving a broker restart."""

import time
from collections.abc import Callable

import pytest

from backorder_worker.adapters.kafka import KafkaPublisher, ensure_topics
from backorder_worker.settings import KafkaSettings
from tests.integration.kafka.support import outbox_row, read_topic

Names = Callable[[str], str]


@pytest.fixture
def publisher(kafka_bootstrap: str) -> KafkaPublisher:
    return KafkaPublisher(KafkaSettings(bootstrap_servers=kafka_bootstrap))


def test_publisher_returns_the_ids_of_sent_rows_and_they_arrive_with_their_headers(
    kafka_bootstrap: str, unique_name: Names, publisher: KafkaPublisher
) -> None:
    released, unroutable = unique_name("released"), unique_name("unroutable")
    ensure_topics(kafka_bootstrap, None, [released, unroutable])
    rows = [
        outbox_row(i, released if i % 3 else unroutable, key=f"O-{i % 4}") for i in range(1, 13)
    ]

    try:
        assert publisher.publish(rows, timeout_s=10) == [row.id for row in rows]
    finally:
        publisher.close()

    arrived = read_topic(kafka_bootstrap, released, 8) + read_topic(kafka_bootstrap, unroutable, 4)
    by_event = {r.header("event_id"): r for r in arrived}
    assert len(arrived) == 12 and len(by_event) == 12
    for row in rows:
        record = by_event[(row.event_id or "").encode()]
        assert (record.topic, record.key, record.value) == (row.topic, row.key, row.value)
        assert record.headers == tuple(row.headers)
    # One key, one partition, in outbox order.
    for key in {row.key for row in rows if row.topic == released}:
        same_key = [r for r in arrived if r.key == key and r.topic == released]
        assert len({r.partition for r in same_key}) == 1
        assert same_key == sorted(same_key, key=lambda r: r.offset)
        assert [r.value for r in same_key] == [
            w.value for w in rows if w.key == key and w.topic == released
        ]


def test_a_row_that_cannot_be_sent_is_left_out_and_the_others_go_through(
    kafka_bootstrap: str, unique_name: Names, publisher: KafkaPublisher
) -> None:
    topic = unique_name("released")
    ensure_topics(kafka_bootstrap, None, [topic])
    rows = [outbox_row(1, topic), outbox_row(2, "not a valid topic!"), outbox_row(3, topic)]

    try:
        assert publisher.publish(rows, timeout_s=10) == [1, 3]
    finally:
        publisher.close()

    assert sorted(r.header("event_id") or b"" for r in read_topic(kafka_bootstrap, topic, 2)) == [
        b"evt-1",
        b"evt-3",
    ]


def test_send_raw_returns_where_the_record_landed(
    kafka_bootstrap: str, unique_name: Names, publisher: KafkaPublisher
) -> None:
    topic = unique_name("stock")
    ensure_topics(kafka_bootstrap, None, [topic], partitions=4)
    try:
        first = publisher.send_raw(topic, b"KTP", b'{"a":1}', [("content-type", b"json")])
        second = publisher.send_raw(topic, b"KTP", b'{"a":2}')
    finally:
        publisher.close()

    assert (first.topic, second.partition, second.offset) == (
        topic,
        first.partition,
        first.offset + 1,
    )
    assert first.partition in range(4) and first.timestamp_ms > 0
    [record, _] = sorted(read_topic(kafka_bootstrap, topic, 2), key=lambda r: r.offset)
    assert (record.partition, record.offset, record.headers) == (
        first.partition,
        first.offset,
        (("content-type", b"json"),),
    )


def test_a_long_lived_publisher_recovers_from_a_broker_restart_by_replacing_its_producer(
    unique_name: Names,
) -> None:
    tansu = pytest.importorskip("backorder_worker.devstack.tansu")
    port = tansu.free_port()
    broker = tansu.TansuBroker(port=port).start()
    publisher = KafkaPublisher(KafkaSettings(bootstrap_servers=broker.bootstrap_servers))
    try:
        topic = unique_name("released")
        assert publisher.publish([outbox_row(1, topic)]) == [1]
        broker.stop(timeout_s=0.2)  # Tansu lingers on SIGTERM while clients are connected
        time.sleep(0.2)
        broker = tansu.TansuBroker(port=port).start()  # memory storage: producer ids forgotten

        assert publisher.publish([outbox_row(2, topic), outbox_row(3, topic)], timeout_s=10) == [
            2,
            3,
        ]
        assert publisher.send_raw(topic, b"O-1", b"raw").offset == 2  # same key, same partition
    finally:
        publisher.close(timeout_s=1)
        broker.stop(timeout_s=0.2)
