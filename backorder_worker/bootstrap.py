"""The composition root: the one place that builds engines, clients and producers.

Nothing is created at import time. The entry points load the settings once, call
``build_services`` and hand what it returns down; tests build their own the same way.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis
import sqlalchemy as sa

from backorder_worker.adapters.event_codec import decision_encoder
from backorder_worker.adapters.kafka.consumer import KafkaSource
from backorder_worker.adapters.kafka.producer import KafkaPublisher
from backorder_worker.adapters.kafka.relay import OutboxRelay, OutboxSweeper, orphaned_after_s
from backorder_worker.adapters.postgres.engine import make_engine
from backorder_worker.adapters.postgres.lease import PostgresLease
from backorder_worker.adapters.postgres.outbox import PostgresOutbox
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.adapters.redis.client import RedisGuard, make_redis
from backorder_worker.adapters.redis.lease import FallbackLease, Lease, RedisLease
from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.entrypoints.batch import BatchProcessor
from backorder_worker.entrypoints.translate import release_policy
from backorder_worker.entrypoints.worker import Worker
from backorder_worker.observability.metrics import Metrics
from backorder_worker.observability.progress import LoopProgress, stall_after_s
from backorder_worker.service_layer.ports import UnitOfWork
from backorder_worker.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


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
    return Services(
        settings=settings,
        engine=engine,
        uow=uow,
        outbox=PostgresOutbox(engine),
        metrics=metrics,
        policy=release_policy(settings),
        redis=client,
        guard=guard,
    )


@dataclass
class Running:
    """The worker and what it owns, to be closed together."""

    worker: Worker
    publisher: KafkaPublisher
    sweeper: OutboxSweeper

    def close(self) -> None:
        self.sweeper.stop()
        self.publisher.close()


SWEEP_INTERVAL_S = 1.0  # each replica's sweeper; the crash bound is session timeout + this


def input_topics(settings: Settings) -> list[str]:
    t = settings.topics
    return [t.stock_stowed, t.future_inventory, t.shipments, t.catalog]


def output_topics(settings: Settings) -> list[str]:
    t = settings.topics
    return [t.shipment_released, t.still_unroutable, t.dead_letter]


def build_worker(
    services: Services,
    *,
    exit_when_idle_s: float | None = None,
    client_id: str | None = None,
    sweep_interval_s: float = SWEEP_INTERVAL_S,
) -> Running:
    settings = services.settings
    publisher = KafkaPublisher(settings.kafka, client_id=client_id)
    relay = OutboxRelay(services.outbox, publisher)
    # Every replica sweeps (no lease: relay.py says why that is safe), so what a dead
    # worker committed and did not publish goes out within session timeout + interval.
    older_than_s = orphaned_after_s(settings.kafka.session_timeout_ms / 1000)
    sweeper = OutboxSweeper(relay, interval_s=sweep_interval_s, older_than_s=older_than_s)
    source = KafkaSource(settings.kafka, input_topics(settings), client_id=client_id)
    processor = BatchProcessor(services.uow, services.policy, utc_now, services.metrics)
    worker = Worker(
        source,
        processor,
        relay,
        services.metrics,
        heartbeat=services.guard.ping,
        exit_when_idle_s=exit_when_idle_s,
        progress=LoopProgress(stall_after_s(settings.kafka.max_poll_interval_ms)),
    )
    return Running(worker, publisher, sweeper)
