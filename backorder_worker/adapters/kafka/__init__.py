"""Kafka adapters: the worker's source (a consumer group member), the publisher and outbox
relay that deliver output events, and topic administration for the demo and the tests.

kafka-python is imported only below this package; what leaves it is plain Python
(`SourceRecord`, `PartitionId`, ids and counts), so the service layer never sees a Kafka type.
"""

from backorder_worker.adapters.kafka.admin import KafkaTopicAdmin, ensure_topics, partitions_for
from backorder_worker.adapters.kafka.consumer import KafkaSource, PartitionsRevoked
from backorder_worker.adapters.kafka.producer import KafkaPublisher, PublishedRecord, PublishError
from backorder_worker.adapters.kafka.records import PartitionId, SourceRecord, next_offsets
from backorder_worker.adapters.kafka.relay import OutboxRelay, OutboxSweeper, RowPublisher

__all__ = [
    "KafkaPublisher",
    "KafkaSource",
    "KafkaTopicAdmin",
    "OutboxRelay",
    "OutboxSweeper",
    "PartitionId",
    "PartitionsRevoked",
    "PublishError",
    "PublishedRecord",
    "RowPublisher",
    "SourceRecord",
    "ensure_topics",
    "next_offsets",
    "partitions_for",
]
