"""The waiting-room gauges on Postgres: of the replicas that refresh them, only the holder
of the ``waiting-room-gauges`` lease counts the room's index (issue #14); the others
report 0, so ``max(...)`` across replicas reads the holder's count."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from functools import partial

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.postgres.lease import PostgresLease
from backorder_worker.adapters.postgres.outbox import PostgresOutbox
from backorder_worker.adapters.postgres.shipment_views import waiting_stats
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.entrypoints.jobs.gauges import JOB, WaitingRoomGauges
from backorder_worker.observability.metrics import Metrics
from tests.support.driver import T0, Driver, order


@pytest.fixture
def room(uow: PostgresUnitOfWork) -> Driver[PostgresUnitOfWork]:
    fed = Driver(uow)
    fed.seed_catalog(skus=("KTP", "KTP2"))
    fed.apply(order("S-1", ("KTP", 1)))
    fed.apply(order("S-2", ("KTP", 1)))
    return fed


@pytest.fixture
def counts(engine: sa.Engine) -> Iterator[list[str]]:
    """The statements that count the waiting room (its size is a ``count(*)`` over the
    shipments in it), as they reach Postgres."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "count(*)" in statement and "shipments" in statement:
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def replicas(engine: sa.Engine) -> Iterator[list[tuple[WaitingRoomGauges, Metrics]]]:
    """Two replicas' gauge jobs, each with its own lease object on the one job name."""
    made = []
    for _ in range(2):
        metrics = Metrics()
        gauges = WaitingRoomGauges(
            partial(waiting_stats, engine),
            PostgresOutbox(engine).backlog,
            metrics,
            PostgresLease(engine, JOB),
        )
        made.append((gauges, metrics))
    yield made
    for gauges, _ in made:
        gauges.release()


def test_of_two_replicas_refreshing_the_gauges_only_one_counts_the_waiting_room(
    room: Driver[PostgresUnitOfWork],
    counts: list[str],
    replicas: list[tuple[WaitingRoomGauges, Metrics]],
) -> None:
    now = T0 + timedelta(days=1)
    (first, first_metrics), (second, second_metrics) = replicas

    for _ in range(3):  # three ticks each: the lease stays with the first replica
        assert first.refresh(now) is True
        assert second.refresh(now) is False

    assert len(counts) == 3
    assert first_metrics.registry.get_sample_value("backorder_waiting_shipments") == 2
    assert second_metrics.registry.get_sample_value("backorder_waiting_shipments") == 0
    for metrics in (first_metrics, second_metrics):  # the outbox: every replica reads it
        assert metrics.registry.get_sample_value("backorder_outbox_backlog") == 2


def test_the_other_replica_counts_once_the_holder_gives_the_lease_back(
    room: Driver[PostgresUnitOfWork],
    counts: list[str],
    replicas: list[tuple[WaitingRoomGauges, Metrics]],
) -> None:
    now = T0 + timedelta(days=1)
    (first, first_metrics), (second, second_metrics) = replicas
    assert first.refresh(now) is True

    first.release()  # the holder stops
    assert second.refresh(now) is True
    assert first.refresh(now) is False

    assert len(counts) == 2
    assert second_metrics.registry.get_sample_value("backorder_waiting_shipments") == 2
    assert first_metrics.registry.get_sample_value("backorder_waiting_shipments") == 0
    assert first_metrics.registry.get_sample_value("backorder_oldest_waiting_age_seconds") == 0
