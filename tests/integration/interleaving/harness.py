"""A scenario, and one schedule of it: set-up, the batches stepped by a chooser, the checks.

``Lab.run`` starts every schedule from an emptied schema, applies the scenario's set-up
through the real ``BatchProcessor`` (one batch per group, not stepped), then runs each of
the scenario's batches as an actor — a replica — stepped by the ``Scheduler``, and returns
the trace and whatever ``invariants.problems`` finds. A cached scenario composes each
replica as ``bootstrap`` does (``services.uow``: when these tests were written, a Redis
catalog cache in front of Postgres; defect 3 removed it), warmed before the batches like
a replica that has been running: whatever the composition keeps between batches is kept.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import redis
import sqlalchemy as sa

from backorder_worker.adapters.event_codec import decision_encoder
from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.adapters.postgres.tables import metadata
from backorder_worker.bootstrap import Services, batch_retry, build_services
from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.entrypoints.worker.batch import BatchProcessor
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer.batch import ApplyBatch
from backorder_worker.settings import DatabaseSettings, RedisSettings, Settings, TopicsSettings
from tests.integration.interleaving import invariants
from tests.integration.interleaving.lock_waits import BackendPids, LockWaits
from tests.integration.interleaving.pausing import PausingUnitOfWork, Points, every_call
from tests.integration.interleaving.records import NOW
from tests.integration.interleaving.scheduler import Actor, Chooser, Scheduler

TOPICS = TopicsSettings(
    shipment_released="t-released", still_unroutable="t-unroutable", dead_letter="t-dead"
)
UnitOfWork = Callable[[], AbstractContextManager[Any]]
_EMPTY_EVERY_TABLE = "; ".join(f"DELETE FROM {t.name}" for t in reversed(metadata.sorted_tables))


@dataclass(frozen=True)
class Scenario:
    name: str
    set_up: Sequence[Sequence[SourceRecord]]  # batches applied before, one after the other
    batches: Sequence[tuple[str, Sequence[SourceRecord]]]  # (replica name, its batch)
    cached: bool = False  # compose each replica as the worker: Redis catalog cache
    points: Points = every_call  # where the batches pause
    may_reject: frozenset[str] = frozenset()  # event ids some orders rightly dead-letter
    policy: ReleasePolicy = field(default_factory=ReleasePolicy)

    def all_records(self) -> list[SourceRecord]:
        return [r for group in self.set_up for r in group] + [
            r for _, batch in self.batches for r in batch
        ]


@dataclass
class Outcome:
    trace: list[str]
    problems: list[str]

    def report(self, scenario: Scenario, how: str) -> str:
        return (
            f"scenario {scenario.name!r}, schedule {how}:\n  "
            + "\n  ".join(self.problems)
            + "\nsteps (actor: the port call it was let into):\n"
            + "\n".join(self.trace)
        )


class Lab:
    """The replicas, the lock-wait monitor and Redis the schedules share.

    A replica is what ``bootstrap.build_services`` builds for a worker process: its own
    engine (pool), Redis client and catalog cache. They live across schedules, as the
    processes would; each schedule starts them from the set-up's catalog (see ``_replica``).
    """

    def __init__(
        self, url: str, engine: sa.Engine, redis_url: str, redis_client: redis.Redis
    ) -> None:
        self.url, self.engine = url, engine
        self.pids = BackendPids()
        self.monitor = LockWaits(engine)
        self.redis_url, self.redis = redis_url, redis_client
        self._replicas: list[Services] = []
        self._set_up: dict[str, list[tuple[sa.Table, list[dict[str, Any]]]]] = {}

    def close(self) -> None:
        self.monitor.close()
        for services in self._replicas:
            services.close()

    def run(self, scenario: Scenario, choose: Chooser) -> Outcome:
        self._set_up_again(scenario)
        scheduler = Scheduler(self.monitor, self.pids)
        replicas = self._fresh_replicas(scenario, len(scenario.batches))
        for (name, batch), (uow, begin_batch) in zip(scenario.batches, replicas, strict=True):
            self._add_actor(scheduler, scenario, name, batch, uow, begin_batch)
        problems = []
        try:
            scheduler.run(choose)
        except AssertionError as stuck:
            problems.append(f"the scheduler: {stuck}")
        for actor in scheduler.actors:
            if actor.error is not None:
                problems.append(f"{actor.name} failed: {type(actor.error).__name__}: {actor.error}")
        with self.engine.connect() as conn:
            problems += _check(conn, scenario)
        return Outcome(scheduler.trace, problems)

    def _set_up_again(self, scenario: Scenario) -> None:
        """Empties every table, then applies the set-up: through the real batches the first
        time, and from then on by writing back the rows that left (faster, and the same)."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql(_EMPTY_EVERY_TABLE)
            rows = self._set_up.get(scenario.name)
            for table, written in rows or ():
                conn.execute(table.insert(), written)
        if rows is not None:
            return
        plain = PostgresUnitOfWork(self.engine, TOPICS, encode=decision_encoder(TOPICS))
        for group in scenario.set_up:
            _processor(plain, scenario.policy).process(group)
        with self.engine.connect() as conn:
            self._set_up[scenario.name] = [
                (table, rows)
                for table in metadata.sorted_tables
                if (rows := _rows_without_identity(conn, table))
            ]

    def _fresh_replicas(
        self, scenario: Scenario, count: int
    ) -> list[tuple[UnitOfWork, Callable[[], None]]]:
        """Each replica's unit of work and what it calls before a batch. Plain: the
        replica's ``PostgresUnitOfWork``. Cached: the worker's own composition, each cache
        holding the set-up's catalog, read after the set-up committed, as a replica that
        processed earlier batches would."""
        while len(self._replicas) < count:
            settings = Settings(
                database=DatabaseSettings(url=self.url),
                redis=RedisSettings(url=self.redis_url),
                topics=TOPICS,
            )
            services = build_services(settings, Metrics())
            self.pids.watch(services.engine)
            self._replicas.append(services)
        replicas = self._replicas[:count]
        if not scenario.cached:
            return [
                (
                    PostgresUnitOfWork(s.engine, TOPICS, encode=decision_encoder(TOPICS)),
                    lambda: None,
                )
                for s in replicas
            ]
        skus = {json.loads(r.value or b"{}")["data"].get("sku") for r in scenario.all_records()}
        for services in replicas:
            with services.uow() as store:
                store.locations()
                store.listings(sku for sku in skus if sku)
        return [(s.uow, lambda: None) for s in replicas]

    def _add_actor(
        self,
        scheduler: Scheduler,
        scenario: Scenario,
        name: str,
        batch: Sequence[SourceRecord],
        uow: UnitOfWork,
        begin_batch: Callable[[], None],
    ) -> None:
        def body(actor: Actor) -> Any:
            def attempt() -> None:
                actor.attempt += 1
                if actor.attempt > 1:
                    scheduler.note(actor, f"attempt {actor.attempt}")

            def failed(error: BaseException) -> None:
                first_line = (str(error).splitlines() or [""])[0]  # no pids: same every run
                scheduler.note(actor, f"rolled back: {type(error).__name__}: {first_line}"[:200])

            pausing = PausingUnitOfWork(uow, actor.pause, attempt, failed, scenario.points)
            begin_batch()
            return _processor(pausing, scenario.policy).process(batch)

        scheduler.add(name, body)


def _processor(uow: UnitOfWork, policy: ReleasePolicy) -> BatchProcessor:
    # No backoff: it only spaces retries in time, which the scheduler orders anyway.
    retry = batch_retry(20.0, sleep=lambda seconds: None)
    return BatchProcessor(ApplyBatch(uow, policy, lambda: NOW, retry), Metrics())


def _rows_without_identity(conn: sa.Connection, table: sa.Table) -> list[dict[str, Any]]:
    """The table's rows in key order, without identity columns (they number themselves)."""
    keep = [c for c in table.columns if c.identity is None]
    query = sa.select(*keep).order_by(*table.primary_key.columns)
    return [dict(row) for row in conn.execute(query).mappings()]


def _check(conn: sa.Connection, scenario: Scenario) -> list[str]:
    stowed: Counter[tuple[str, str]] = Counter()
    levelled: set[tuple[str, str]] = set()
    seen: dict[str, dict[str, Any]] = {}
    for r in scenario.all_records():
        event = json.loads(r.value or b"{}")
        seen[event["id"]] = event
    for event in seen.values():
        data = event["data"]
        if event["type"] == "stock.stowed":
            stowed[(data["location_id"], data["sku"])] += int(data["quantity"])
        elif event["type"] == "stock.level":
            levelled.add((data["location_id"], data["sku"]))
    return invariants.problems(
        conn, stowed, levelled, seen, scenario.may_reject, NOW.date(), scenario.policy
    )
