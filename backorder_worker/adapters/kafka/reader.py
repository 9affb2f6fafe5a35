"""`TopicReader`: reads topics outside any consumer group, from chosen offsets.

For the tools around the worker — `replay`, the demo's view of the output topics, the
end-to-end tests: it assigns partitions itself, never joins the worker's group and never
commits, so the worker's offsets do not move.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from backorder_worker.adapters.kafka.records import PartitionId, SourceRecord, from_consumer_record
from backorder_worker.settings import KafkaSettings, kafka_client_kwargs


class TopicReader:
    def __init__(
        self,
        settings: KafkaSettings,
        topics: Sequence[str],
        *,
        partitions: Iterable[int] | None = None,
        start_offsets: Mapping[PartitionId, int] | None = None,
        max_poll_records: int = 500,
    ) -> None:
        """Assigns every partition of ``topics`` (or only ``partitions``) and starts each at
        ``start_offsets`` where given, else at its beginning."""
        config: dict[str, Any] = {
            "group_id": None,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "max_poll_records": max_poll_records,
            **kafka_client_kwargs(settings),
        }
        self._consumer = KafkaConsumer(**config)
        wanted = set(partitions) if partitions is not None else None
        assigned: list[TopicPartition] = []
        for topic in topics:
            found = self._partitions_of(topic)
            assigned += [TopicPartition(topic, p) for p in found if wanted is None or p in wanted]
        self.assigned = [PartitionId(tp.topic, tp.partition) for tp in assigned]
        self._consumer.assign(assigned)
        starts = start_offsets or {}
        for tp in assigned:
            offset = starts.get(PartitionId(tp.topic, tp.partition))
            if offset is None:
                self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, offset)

    def _partitions_of(self, topic: str, wait_s: float = 10.0) -> list[int]:
        deadline = time.monotonic() + wait_s
        while True:
            found = self._consumer.partitions_for_topic(topic)
            if found:
                return sorted(found)
            if time.monotonic() > deadline:
                raise LookupError(f"topic {topic!r} not found")
            time.sleep(0.2)

    def poll(self, timeout_ms: int = 500) -> list[SourceRecord]:
        batches = self._consumer.poll(timeout_ms=timeout_ms)
        records: list[SourceRecord] = []
        for tp in sorted(batches):
            records.extend(from_consumer_record(r) for r in batches[tp])
        return records

    def position(self, partition: PartitionId) -> int:
        return int(self._consumer.position(TopicPartition(*partition)))

    def highwater(self, partition: PartitionId) -> int | None:
        """The end of the partition as the last fetch saw it (right on Tansu, unlike
        ``end_offsets``: see DEVSTACK.md); None before the first fetch."""
        value = self._consumer.highwater(TopicPartition(*partition))
        return None if value is None else int(value)

    def close(self) -> None:
        self._consumer.close()
