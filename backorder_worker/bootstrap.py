"""The composition root: the one place that builds engines, clients and producers.

Nothing is created at import time. The entry points load the settings once, call
``build_services`` (Postgres, Redis, the release policy, the clock, the batch use case with
its retry) and, for the consume loop, ``build_worker_parts`` (the Kafka source, publisher,
relay and sweeper), or for a replay ``build_topic_reader`` and ``build_publishing``, and
assemble what they run from those; tests build their own the same way. It imports no entry
point: they ask it. Which retries the use cases get (tenacity) is decided here too.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis
import sqlalchemy as sa
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential_jitter,
)

from backorder_worker.adapters.event_codec import decision_encoder
from backorder_worker.adapters.kafka.admin import KafkaTopicAdmin, partitions_for
from backorder_worker.adapters.kafka.consumer import KafkaSource
from backorder_worker.adapters.kafka.producer import KafkaPublisher
from backorder_worker.adapters.kafka.reader import TopicReader
from backorder_worker.adapters.kafka.records import PartitionId
from backorder_worker.adapters.kafka.relay import OutboxRelay, OutboxSweeper, orphaned_after_s
from backorder_worker.adapters.postgres.engine import make_engine
from backorder_worker.adapters.postgres.job_runs import PostgresJobRuns
from backorder_worker.adapters.postgres.lease import PostgresLease
from backorder_worker.adapters.postgres.outbox import PostgresOutbox
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.adapters.redis.client import RedisGuard, make_redis
from backorder_worker.adapters.redis.lease import FallbackLease, RedisLease
from backorder_worker.domain.model import FenceMode, PartialRelease, ReleaseOrder, ReleasePolicy
from backorder_worker.observability.metrics import Metrics
from backorder_worker.observability.progress import LoopProgress, stall_after_s
from backorder_worker.service_layer.batch import ApplyBatch
from backorder_worker.service_layer.errors import Retry, TransientError
from backorder_worker.service_layer.ports import UnitOfWork
from backorder_worker.service_layer.ports.leases import Lease
from backorder_worker.settings import KafkaSettings, Settings

log = logging.getLogger(__name__)

BATCH_RETRY_S = 60.0  # a batch's transient failures retried this long, then the loop stops


def utc_now() -> datetime:
    return datetime.now(UTC)


def release_policy(settings: Settings) -> ReleasePolicy:
    """The site's settings as the rules the core reads."""
    site = settings.site
    return ReleasePolicy(
        future_inventory_enabled=site.future_inventory_enabled,
        future_date_limit_days=site.future_date_limit_days,
        default_backorder_days=site.default_backorder_days,
        void_and_reauth_on_release=site.void_and_reauth_on_release,
        split_allowed=site.split_allowed,
        partial_release=PartialRelease(site.partial_release),
        release_order=ReleaseOrder(site.release_order),
        allow_skip=site.allow_skip,
        complete_stock_mode=FenceMode(settings.fences.complete_stock.mode),
    )


def batch_retry(
    retry_for_s: float = BATCH_RETRY_S, *, sleep: Callable[[float], None] = time.sleep
) -> Retry:
    """Runs a batch's transaction again after a ``TransientError``, with exponential
    backoff and jitter, for up to ``retry_for_s``; then re-raises the last error."""
    return Retrying(
        retry=retry_if_exception_type(TransientError),
        stop=stop_after_delay(retry_for_s),
        wait=wait_exponential_jitter(multiplier=0.05, max=2.0),
        before_sleep=_log_batch_retry,
        sleep=sleep,
        reraise=True,
    )


def _log_batch_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "transient failure, retrying the batch",
        extra={"attempt": state.attempt_number, "error": repr(error)},
    )


@dataclass
class Services:
    """Everything but Kafka: enough for `migrate`, `waiting`, `reevaluate` and the worker."""

    settings: Settings
    engine: sa.Engine
    uow: UnitOfWork
    outbox: PostgresOutbox
    metrics: Metrics
    policy: ReleasePolicy
    redis: redis.Redis | None
    guard: RedisGuard
    apply_batch: ApplyBatch  # the worker's and replay's transaction, its retry given
    owner_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    )

    def lease(self, name: str, ttl_s: float = 30.0) -> Lease:
        """A singleton-job lease: Redis when it answers, a Postgres advisory lock otherwise."""
        fallback = PostgresLease(self.engine, name)
        if self.redis is None:
            return fallback
        return FallbackLease(RedisLease(self.redis, name, self.owner_id, ttl_s), fallback)

    def close(self) -> None:
        if self.redis is not None:
            self.redis.close()
        self.engine.dispose()


def build_services(settings: Settings, metrics: Metrics | None = None) -> Services:
    metrics = metrics or Metrics()
    engine = make_engine(settings.database.url)
    client = make_redis(settings.redis.url)
    guard = RedisGuard(client, metrics=metrics)
    # The catalog is read from Postgres under the transaction's locks, never from a cache:
    # a listing or location cached before another replica's change commits would decide
    # a round on the old one and lose its release (``service_layer/locking.py``).
    uow = PostgresUnitOfWork(engine, settings.topics, encode=decision_encoder(settings.topics))
    policy = release_policy(settings)
    return Services(
        settings=settings,
        engine=engine,
        uow=uow,
        outbox=PostgresOutbox(engine),
        metrics=metrics,
        policy=policy,
        redis=client,
        guard=guard,
        apply_batch=ApplyBatch(uow, policy, utc_now, batch_retry()),
    )


SWEEP_INTERVAL_S = 1.0  # each replica's sweeper; the crash bound is session timeout + this


def input_topics(settings: Settings) -> list[str]:
    t = settings.topics
    return [t.stock_stowed, t.future_inventory, t.shipments, t.catalog]


def output_topics(settings: Settings) -> list[str]:
    t = settings.topics
    return [t.shipment_released, t.still_unroutable, t.dead_letter]


@dataclass
class Publishing:
    """The outbox relay over a producer of its own, closed with it."""

    relay: OutboxRelay
    publisher: KafkaPublisher

    def close(self) -> None:
        self.publisher.close()


def build_publishing(services: Services, *, client_id: str | None = None) -> Publishing:
    publisher = KafkaPublisher(services.settings.kafka, client_id=client_id)
    return Publishing(OutboxRelay(services.outbox, publisher), publisher)


def topic_partitions(settings: Settings, topic: str) -> list[int]:
    """The partition ids of ``topic``, sorted; empty when it does not exist."""
    return partitions_for(settings.kafka.bootstrap_servers, settings.kafka, topic)


def build_topic_reader(
    settings: Settings, topic: str, partitions: list[int], from_offset: int | None
) -> TopicReader:
    """A reader of ``partitions`` of ``topic`` in no consumer group, each from
    ``from_offset`` (else from its beginning)."""
    starts = (
        None if from_offset is None else {PartitionId(topic, p): from_offset for p in partitions}
    )
    return TopicReader(
        settings.kafka,
        [topic],
        partitions=partitions,
        start_offsets=starts,
        max_poll_records=settings.kafka.max_poll_records,
    )


@dataclass
class WorkerParts:
    """What the consume loop runs with besides the services, to be closed together (the
    source closes itself when the loop ends)."""

    source: KafkaSource
    publishing: Publishing
    sweeper: OutboxSweeper
    progress: LoopProgress

    @property
    def relay(self) -> OutboxRelay:
        return self.publishing.relay

    def close(self) -> None:
        self.sweeper.stop()
        self.publishing.close()


def build_worker_parts(
    services: Services,
    *,
    client_id: str | None = None,
    sweep_interval_s: float = SWEEP_INTERVAL_S,
) -> WorkerParts:
    settings = services.settings
    publishing = build_publishing(services, client_id=client_id)
    # Every replica sweeps (no lease: relay.py says why that is safe), so what a dead
    # worker committed and did not publish goes out within session timeout + interval.
    older_than_s = orphaned_after_s(settings.kafka.session_timeout_ms / 1000)
    sweeper = OutboxSweeper(
        publishing.relay, interval_s=sweep_interval_s, older_than_s=older_than_s
    )
    source = KafkaSource(settings.kafka, input_topics(settings), client_id=client_id)
    progress = LoopProgress(stall_after_s(settings.kafka.max_poll_interval_ms))
    return WorkerParts(source, publishing, sweeper, progress)


# ── What the operator commands and the worker's background jobs ask for ──────────────────


def build_read_engine(settings: Settings) -> sa.Engine:
    """One connection to Postgres, for a one-shot command that reads (`waiting`, `demand`,
    `what-if`); the caller disposes of it."""
    return make_engine(settings.database.url, pool_size=1, max_overflow=0)


def build_unit_of_work(engine: sa.Engine, settings: Settings) -> UnitOfWork:
    """Plain Postgres transactions on ``engine`` (no cache), as the worker's own."""
    return PostgresUnitOfWork(engine, settings.topics, encode=decision_encoder(settings.topics))


def build_publisher(settings: Settings, client_id: str) -> KafkaPublisher:
    """A bare producer of its own, no outbox (`publish`, the demo); a command that
    publishes what its transactions wrote takes ``build_publishing``."""
    return KafkaPublisher(settings.kafka, client_id=client_id)


def build_reader(settings: Settings, topics: Sequence[str]) -> TopicReader:
    """Reads the whole of ``topics`` from their beginning outside any consumer group (the
    demo); ``build_topic_reader`` reads chosen partitions from an offset (replay)."""
    return TopicReader(settings.kafka, topics)


def build_job_runs(engine: sa.Engine, *, stale_after_s: float = 1800.0) -> PostgresJobRuns:
    """The ``job_runs`` table: who runs a once-a-day job on a day, and whether it finished."""
    return PostgresJobRuns(engine, stale_after_s=stale_after_s)


def build_topic_admin(kafka: KafkaSettings) -> KafkaTopicAdmin:
    """An admin client for the checks a command makes before it starts (``preflight``)."""
    return KafkaTopicAdmin(kafka.bootstrap_servers, kafka)
