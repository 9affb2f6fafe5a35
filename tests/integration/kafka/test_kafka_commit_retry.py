"""A refused offset commit is kept and retried (finding 11 of docs/reliability.md).

The member has read past the records whose commit was refused, so nothing would bring their
offsets back: without a retry, a partition that gets no later record shows a lag for work
that is done until the next rebalance. In the first test the broker becomes unreachable
through a proxy (`CutProxy`) for the commit only, well inside the session timeout, so the
membership survives and only a retry can move the group's committed offset. The others
check what must not be retried: offsets of partitions the member lost, and offsets that
would move a committed one backwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from kafka import KafkaConsumer, TopicPartition

from backorder_worker.adapters.kafka import KafkaSource, PartitionId, ensure_topics
from backorder_worker.devstack.tansu import TansuBroker, free_port
from backorder_worker.settings import KafkaSettings
from tests.integration.kafka.cut_proxy import CutProxy
from tests.integration.kafka.support import fast_settings, poll_until, produce, wait_for

Names = Callable[[str], str]
Revocations = list[tuple[frozenset[PartitionId], bool]]


@pytest.fixture
def proxied_broker() -> Iterator[tuple[TansuBroker, CutProxy]]:
    """A private in-memory broker that clients reach only through a `CutProxy`."""
    port = free_port()
    broker = TansuBroker(advertised_port=port).start()
    assert broker.port is not None
    try:
        with CutProxy(broker.port, port) as proxy:
            yield broker, proxy
    finally:
        broker.stop(timeout_s=0.5)


def committed(settings: KafkaSettings, partitions: list[PartitionId]) -> dict[PartitionId, int]:
    """The group's committed offsets, read without joining the group."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.group_id,
        enable_auto_commit=False,
    )
    try:
        return {
            p: consumer.committed(TopicPartition(p.topic, p.partition)) or 0 for p in partitions
        }
    finally:
        consumer.close(autocommit=False)


def read_all(
    bootstrap: str, topic: str, settings: KafkaSettings, revocations: Revocations
) -> tuple[KafkaSource, list[PartitionId]]:
    """A member that has read 3 records on each of 2 partitions and committed nothing."""
    ensure_topics(bootstrap, None, [topic], partitions=2)
    produce(bootstrap, topic, [(p, b"k", b"m%d" % i) for p in range(2) for i in range(3)])
    source = KafkaSource(
        settings,
        [topic],
        on_revoked=lambda tps, lost: revocations.append((tps, lost)),
        commit_timeout_ms=500,
    )
    assert len(poll_until([source], lambda got: len(got) >= 6)) == 6
    return source, [PartitionId(topic, 0), PartitionId(topic, 1)]


def test_a_refused_commit_is_retried_by_the_next_poll_though_no_record_follows(
    proxied_broker: tuple[TansuBroker, CutProxy], unique_name: Names
) -> None:
    broker, proxy = proxied_broker
    # A 6 s session: the cut and the reconnection stay well inside it (joins take ~3 s).
    settings = KafkaSettings(
        bootstrap_servers=broker.bootstrap_servers,
        group_id=unique_name("group"),
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    revocations: Revocations = []
    source, partitions = read_all(
        broker.bootstrap_servers, unique_name("catalog"), settings, revocations
    )
    try:
        proxy.cut()
        assert source.commit({p: 3 for p in partitions}) is False
        proxy.heal()
        assert source.pending_offsets() == {p: 3 for p in partitions}
        assert committed(settings, partitions) == {p: 0 for p in partitions}

        redelivered = []
        deadline = time.monotonic() + 15
        while source.pending_offsets() and time.monotonic() < deadline:
            redelivered += source.poll(timeout_ms=200)  # empty polls: the topic is quiet
        assert not revocations, "the membership ended: this tested a rebalance, not a retry"
        assert source.pending_offsets() == {}
        assert redelivered == []
        assert committed(settings, partitions) == {p: 3 for p in partitions}
    finally:
        source.close()


def test_kept_offsets_of_partitions_that_left_the_member_are_dropped_not_committed(
    kafka_bootstrap: str, unique_name: Names
) -> None:
    """The member stops polling past `max_poll_interval_ms` and leaves the group, so its
    commit is refused and kept; its next poll learns the partitions are lost. What it kept
    must not be committed after it rejoins (a new owner may have moved on meanwhile): the
    records come again from the committed offset instead."""
    settings = fast_settings(kafka_bootstrap, unique_name("group")).model_copy(
        update={"max_poll_interval_ms": 1000}
    )
    revocations: Revocations = []
    source, partitions = read_all(kafka_bootstrap, unique_name("stock"), settings, revocations)
    try:
        time.sleep(1.8)  # "processing" past max_poll_interval_ms: the member leaves the group
        assert source.commit({p: 3 for p in partitions}) is False
        assert source.pending_offsets() == {p: 3 for p in partitions}

        again = poll_until([source], lambda got: len(got) >= 6)
        assert revocations and revocations[0] == (frozenset(partitions), True)
        assert source.pending_offsets() == {}
        source.poll(timeout_ms=300)  # a retry of what was kept would go out here
        assert sorted(r.offset for r in again) == [0, 0, 1, 1, 2, 2]
        assert committed(settings, partitions) == {p: 0 for p in partitions}
    finally:
        source.close()


def test_an_offset_at_or_below_one_committed_is_not_sent_again(
    kafka_bootstrap: str, unique_name: Names
) -> None:
    topic = unique_name("stock")
    ensure_topics(kafka_bootstrap, None, [topic], partitions=1)
    produce(kafka_bootstrap, topic, [(0, b"k", b"m%d" % i) for i in range(5)])
    settings = fast_settings(kafka_bootstrap, unique_name("group"))
    partition = PartitionId(topic, 0)
    source = KafkaSource(settings, [topic])
    try:
        poll_until([source], lambda got: len(got) >= 5)
        assert source.commit({partition: 5}) is True
        assert source.commit({partition: 3}) is True  # already done: nothing to send
        assert wait_for(lambda: committed(settings, [partition]) == {partition: 5}, 5)
    finally:
        source.close()
