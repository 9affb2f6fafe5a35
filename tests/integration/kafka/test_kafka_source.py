"""KafkaSource against a real Kafka-protocol broker: where a group starts, what a commit
means for the next member, what a record carries, lag, and pausing."""

from collections.abc import Callable

from backorder_worker.adapters.kafka import KafkaSource, PartitionId, ensure_topics
from tests.integration.kafka.support import fast_settings, poll_until, produce

Names = Callable[[str], str]


def test_a_new_group_starts_at_the_earliest_offset_and_sees_messages_published_before_it_joined(
    kafka_bootstrap: str, unique_name: Names
) -> None:
    topic = unique_name("stock")
    produce(kafka_bootstrap, topic, [(p, b"k%d" % p, b"before-join-%d" % p) for p in range(4)])

    source = KafkaSource(fast_settings(kafka_bootstrap, unique_name("group")), [topic])
    try:
        records = poll_until([source], lambda got: len(got) >= 4)
        assert source.is_ready()
    finally:
        source.close()

    assert sorted(r.value or b"" for r in records) == [b"before-join-%d" % p for p in range(4)]


def test_a_new_member_resumes_after_the_committed_offset(
    kafka_bootstrap: str, unique_name: Names
) -> None:
    topic, group = unique_name("stock"), unique_name("group")
    ensure_topics(kafka_bootstrap, None, [topic], partitions=1)
    produce(kafka_bootstrap, topic, [(0, b"k", b"m%d" % i) for i in range(5)])
    settings = fast_settings(kafka_bootstrap, group)

    first = KafkaSource(settings, [topic])
    try:
        records = poll_until([first], lambda got: len(got) >= 5)
        # Processed up to m2 only: the commit is offset 2 + 1, so m3 is next.
        assert first.commit([r for r in records if r.offset <= 2]) is True
    finally:
        first.close()

    second = KafkaSource(settings, [topic])
    try:
        resumed = poll_until([second], lambda got: len(got) >= 2)
        resumed += second.poll(timeout_ms=300)  # anything re-read before m3 would show here
    finally:
        second.close()

    assert [r.value for r in resumed] == [b"m3", b"m4"]
    assert [r.offset for r in resumed] == [3, 4]


def test_records_keep_their_key_headers_and_order_within_a_partition(
    kafka_bootstrap: str, unique_name: Names
) -> None:
    from kafka import KafkaProducer

    topic = unique_name("shipments")
    ensure_topics(kafka_bootstrap, None, [topic], partitions=2)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=2)
    for i in range(20):
        headers = [("event_id", b"evt-%d" % i), ("source.topic", b"x")]
        producer.send(
            topic, key=b"O-%d" % (i % 2), value=b"%d" % i, partition=i % 2, headers=headers
        )
    producer.flush(10)
    producer.close(5)

    source = KafkaSource(fast_settings(kafka_bootstrap, unique_name("group")), [topic])
    try:
        records = poll_until([source], lambda got: len(got) >= 20)
    finally:
        source.close()

    for partition in (0, 1):
        mine = [r for r in records if r.partition == partition]
        assert [int(r.value or b"") for r in mine] == list(range(partition, 20, 2))
        assert [r.offset for r in mine] == list(range(10))
        assert {r.key for r in mine} == {b"O-%d" % partition}
        for r in mine:
            assert r.headers == (("event_id", b"evt-" + (r.value or b"")), ("source.topic", b"x"))
            assert r.header("event_id") == b"evt-" + (r.value or b"")
            assert r.timestamp_ms > 0


def test_lag_reflects_unconsumed_messages_and_reaches_zero(
    kafka_bootstrap: str, unique_name: Names
) -> None:
    topic = unique_name("stock")
    ensure_topics(kafka_bootstrap, None, [topic], partitions=1)
    produce(kafka_bootstrap, topic, [(0, b"k", b"first")])
    settings = fast_settings(kafka_bootstrap, unique_name("group")).model_copy(
        update={"max_poll_records": 5}
    )
    source = KafkaSource(settings, [topic])
    try:
        first = poll_until([source], lambda got: len(got) >= 1)
        assert source.lag() == {PartitionId(topic, 0): 0}

        produce(kafka_bootstrap, topic, [(0, b"k", b"m%d" % i) for i in range(30)])
        source.pause_all()
        assert source.poll(timeout_ms=300) == []  # paused: the membership lives, no records
        source.resume_all()
        batch = poll_until([source], lambda got: len(got) >= 1)
        assert len(batch) <= 5
        lag = source.lag()[PartitionId(topic, 0)]
        assert lag == 30 - len(batch)  # the fetch saw the new high watermark

        rest = poll_until([source], lambda got: len(batch) + len(got) >= 30)
        assert source.commit(first + batch + rest) is True
        assert source.lag() == {PartitionId(topic, 0): 0}
    finally:
        source.close()


def test_a_member_that_stops_polling_is_told_its_partitions_are_lost_and_its_commit_fails(
    kafka_bootstrap: str, unique_name: Names
) -> None:
    import time

    topic = unique_name("stock")
    ensure_topics(kafka_bootstrap, None, [topic], partitions=2)
    produce(kafka_bootstrap, topic, [(p, b"k", b"m%d" % p) for p in range(2)])
    settings = fast_settings(kafka_bootstrap, unique_name("group")).model_copy(
        update={"max_poll_interval_ms": 1000}
    )
    revocations: list[tuple[frozenset[PartitionId], bool]] = []
    source = KafkaSource(
        settings, [topic], on_revoked=lambda tps, lost: revocations.append((tps, lost))
    )
    try:
        records = poll_until([source], lambda got: len(got) >= 2)
        time.sleep(1.8)  # "processing" past max_poll_interval_ms: the member leaves the group

        assert source.commit(records) is False  # refused, not raised: the records come again
        again = poll_until([source], lambda got: len(got) >= 2)
    finally:
        source.close()

    assert revocations[0] == (frozenset({PartitionId(topic, 0), PartitionId(topic, 1)}), True)
    assert sorted(r.value or b"" for r in again) == [b"m0", b"m1"]  # redelivered after the rejoin
