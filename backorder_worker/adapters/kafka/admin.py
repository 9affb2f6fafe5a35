"""Topic administration for the demo and the tests: create what is missing, count partitions.

Production topics are created by whoever runs the cluster; the worker never creates them
(brokers that auto-create topics, like Tansu, would otherwise give them default settings).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self

from kafka import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError, for_code

from backorder_worker.settings import KafkaSettings, kafka_client_kwargs

log = logging.getLogger(__name__)


class KafkaTopicAdmin:
    """A `KafkaAdminClient` for `bootstrap`, with the security options of `settings`."""

    def __init__(self, bootstrap: str, settings: KafkaSettings | None = None) -> None:
        options = kafka_client_kwargs(settings) if settings is not None else {}
        self._client = KafkaAdminClient(**{**options, "bootstrap_servers": bootstrap})

    def ensure_topics(
        self, names: Iterable[str], partitions: int = 4, replication: int = 1
    ) -> list[str]:
        """Creates the topics of `names` that do not exist yet and waits until they are
        usable; returns the ones it created. Idempotent: a topic that exists (or that
        another process creates meanwhile) is left as it is, whatever its partitions."""
        wanted = sorted(set(names))
        existing = set(self._client.list_topics())
        missing = [name for name in wanted if name not in existing]
        if not missing:
            return []
        spec = {
            name: {"num_partitions": partitions, "replication_factor": replication}
            for name in missing
        }
        response = self._client.create_topics(spec, raise_errors=False)
        created: list[str] = []
        for topic in response["topics"]:
            error = for_code(topic["error_code"])
            if topic["error_code"] == 0:
                created.append(topic["name"])
            elif error is not TopicAlreadyExistsError:
                raise error(f"creating topic {topic['name']}: {topic.get('error_message')}")
        self._client.wait_for_topics(missing)
        if created:
            log.info("created topics %s (%d partitions)", ", ".join(created), partitions)
        return created

    def topic_names(self) -> set[str]:
        """The topics that exist in the cluster."""
        return set(self._client.list_topics())

    def partitions_for(self, topic: str) -> list[int]:
        """The partition ids of `topic`, sorted; empty when it does not exist."""
        described: list[dict[str, Any]] = self._client.describe_topics([topic])
        for entry in described:
            if entry.get("name") == topic and entry.get("error_code", 0) == 0:
                return sorted(p["partition_index"] for p in entry.get("partitions", ()))
        return []

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def ensure_topics(
    bootstrap: str,
    settings: KafkaSettings | None,
    names: Iterable[str],
    partitions: int = 4,
    replication: int = 1,
) -> list[str]:
    """`KafkaTopicAdmin.ensure_topics` with a client of its own; returns the created topics."""
    with KafkaTopicAdmin(bootstrap, settings) as admin:
        return admin.ensure_topics(names, partitions, replication)


def partitions_for(bootstrap: str, settings: KafkaSettings | None, topic: str) -> list[int]:
    """`KafkaTopicAdmin.partitions_for` with a client of its own."""
    with KafkaTopicAdmin(bootstrap, settings) as admin:
        return admin.partitions_for(topic)
