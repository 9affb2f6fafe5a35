"""What `replay` must not touch or get wrong against the real stack: the worker group's
committed offsets stay as they were, and a replay reaching back past what the inbox
remembers is refused (by time, before reading; by offset, before the first such record),
since there it could apply an event twice.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from backorder_worker.bootstrap import Services
from backorder_worker.entrypoints.worker.replay_range import ReplayError
from tests.e2e.replay.support import (
    NOW,
    a_waiting_shipment,
    free_stock,
    run,
    send_event,
    state,
    stow,
)
from tests.e2e.support import World


def test_a_replay_leaves_the_consumer_groups_committed_offsets_unchanged(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    topic = world.settings.topics.stock_stowed
    for quantity in (1, 2):
        send_event(producer, topic, "stock.stowed", stow(quantity))
    partitions = [TopicPartition(topic, p) for p in range(4)]
    group = KafkaConsumer(
        bootstrap_servers=world.settings.kafka.bootstrap_servers,
        group_id=world.settings.kafka.group_id,
        enable_auto_commit=False,
    )
    try:
        group.assign(partitions)
        group.commit({partitions[0]: OffsetAndMetadata(1, "", -1)})
        before = [group.committed(tp) for tp in partitions]

        assert run(world, services, "stock_stowed", from_offset=0).applied == 2

        assert [group.committed(tp) for tp in partitions] == before == [1, None, None, None]
    finally:
        group.close()


def test_a_replay_from_before_what_the_inbox_remembers_is_refused_before_reading(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    a_waiting_shipment(world, services, producer)
    send_event(producer, world.settings.topics.stock_stowed, "stock.stowed", stow(5))
    kept = world.settings.retention.inbox_days

    with pytest.raises(ReplayError) as refused:
        run(world, services, "stock_stowed", from_time=NOW - timedelta(days=kept, hours=1))

    assert str(refused.value).startswith("--from ")
    assert f"older than the inbox remembers applied events ({kept} days: since " in str(
        refused.value
    )
    assert "raise [retention] inbox_days" in str(refused.value)
    assert state(world, "S-1") == "WAITING" and free_stock(world) == 0


def test_an_offset_range_that_meets_a_record_older_than_the_inbox_keeps_stops_before_it(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    a_waiting_shipment(world, services, producer)
    old = NOW - timedelta(days=world.settings.retention.inbox_days + 2)
    topic = world.settings.topics.stock_stowed
    send_event(producer, topic, "stock.stowed", stow(5), timestamp_ms=int(old.timestamp() * 1000))

    with pytest.raises(ReplayError, match=r"^a record of .* is older than the inbox remembers"):
        run(world, services, "stock_stowed", from_offset=0)

    assert state(world, "S-1") == "WAITING" and free_stock(world) == 0
