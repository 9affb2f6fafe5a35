"""Two KafkaSource members sharing a group: the split, the hand-over when one leaves, and the
regression of kafka-python #3106/#3131 (a consumer stalling after one batch, a partition
yielding nothing until the next rebalance): what is published after the hand-over must all
be consumed, and the lag must drain."""

from collections.abc import Callable

from backorder_worker.adapters.kafka import KafkaSource, PartitionId, SourceRecord, ensure_topics
from tests.integration.kafka.support import fast_settings, poll_until, produce

Names = Callable[[str], str]
PARTITIONS = 4
Revocations = list[tuple[frozenset[PartitionId], bool]]


def _messages(tag: str, count: int) -> list[tuple[int, bytes, bytes]]:
    return [
        (i % PARTITIONS, b"sku-%d" % (i % PARTITIONS), b"%s-%d" % (tag.encode(), i))
        for i in range(count)
    ]


def _tagged(tag: str, count: int) -> set[bytes]:
    return {b"%s-%d" % (tag.encode(), i) for i in range(count)}


def _values(records: list[SourceRecord]) -> set[bytes]:
    return {r.value or b"" for r in records}


def test_two_members_split_four_partitions_and_the_survivor_takes_over_and_drains_the_lag(
    kafka_bootstrap: str, unique_name: Names
) -> None:
    topic = unique_name("stock")
    everything = frozenset(PartitionId(topic, p) for p in range(PARTITIONS))
    ensure_topics(kafka_bootstrap, None, [topic], partitions=PARTITIONS)
    produce(kafka_bootstrap, topic, _messages("before", 40))
    settings = fast_settings(kafka_bootstrap, unique_name("group"))
    from_a: Revocations = []
    from_b: Revocations = []
    a = KafkaSource(settings, [topic], on_revoked=lambda tps, lost: from_a.append((tps, lost)))
    b = None
    try:
        seen = poll_until([a], lambda got: a.assignment() == everything)
        assert a.assignment() == everything

        b = KafkaSource(settings, [topic], on_revoked=lambda tps, lost: from_b.append((tps, lost)))
        seen += poll_until(
            [a, b],
            lambda got: (
                len(a.assignment()) == len(b.assignment()) == 2
                and _values(seen + got) >= _tagged("before", 40)
            ),
        )
        # Cooperative-sticky: a gave up exactly the two partitions b now owns, told in time.
        assert from_a == [(b.assignment(), False)]
        assert a.assignment() | b.assignment() == everything
        assert _values(seen) >= _tagged("before", 40)
        assert a.commit(seen) is False  # a's partitions committed, b's skipped: not a's any more
        assert b.commit([r for r in seen if r.partition_id in b.assignment()])
        b_partitions = b.assignment()

        b.close()  # leaves the group: its partitions move at once
        assert from_b == [(b_partitions, False)]
        during = poll_until([a], lambda got: a.assignment() == everything)
        assert a.assignment() == everything
        assert during == []  # b's commits held: nothing of "before" comes back

        produce(kafka_bootstrap, topic, _messages("after", 80))
        after = poll_until([a], lambda got: _values(got) >= _tagged("after", 80))
        assert _values(after) == _tagged("after", 80)
        assert {r.partition for r in after} == set(range(PARTITIONS))
        tail = poll_until([a], lambda got: set(a.lag().values()) == {0}, timeout_s=5)
        assert tail == [] and a.lag() == dict.fromkeys(everything, 0)
        assert a.commit(after)
    finally:
        a.close()
        if b is not None:
            b.close()

    assert from_a[-1] == (everything, False)  # close() gives everything up
