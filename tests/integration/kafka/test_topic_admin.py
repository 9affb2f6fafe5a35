"""Topic administration against a real broker: create what is missing, idempotently."""

from collections.abc import Callable

from backorder_worker.adapters.kafka import KafkaTopicAdmin, ensure_topics, partitions_for

Names = Callable[[str], str]


def test_ensure_topics_creates_the_missing_topics_once_with_the_partitions_asked_for(
    kafka_bootstrap: str, unique_name: Names
) -> None:
    four, two = unique_name("stock"), unique_name("catalog")

    assert ensure_topics(kafka_bootstrap, None, [four]) == [four]
    assert ensure_topics(kafka_bootstrap, None, [four, two], partitions=2) == [two]
    assert ensure_topics(kafka_bootstrap, None, [four, two]) == []

    with KafkaTopicAdmin(kafka_bootstrap) as admin:
        assert admin.partitions_for(four) == [0, 1, 2, 3]
        assert admin.partitions_for(two) == [0, 1]
    assert partitions_for(kafka_bootstrap, None, unique_name("absent")) == []
