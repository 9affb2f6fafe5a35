"""Re-evaluation on Postgres and the daily job around it: a day is run once, by one
replica, and waiting shipments pass their expected release into the overdue flag."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.postgres.job_runs import JobClaim, PostgresJobRuns
from backorder_worker.adapters.postgres.lease import PostgresLease
from backorder_worker.adapters.postgres.outbox import PostgresOutbox
from backorder_worker.adapters.postgres.overdue import flag_overdue
from backorder_worker.adapters.postgres.shipment_views import waiting_stats
from backorder_worker.adapters.postgres.store import PostgresStore, PostgresUnitOfWork
from backorder_worker.entrypoints.jobs.background import BackgroundJobs
from backorder_worker.entrypoints.jobs.daily_reevaluation import DailyReevaluation
from backorder_worker.entrypoints.jobs.gauges import WaitingRoomGauges
from backorder_worker.entrypoints.jobs.overdue import OverdueFlagging
from backorder_worker.entrypoints.jobs.pages import transient_retry
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.ports import ShipmentState, UnitOfWork
from backorder_worker.service_layer.reevaluation import ReevaluationSummary, reevaluate
from backorder_worker.wire import decode_output_event
from tests.support.driver import T0, Driver, order

FAR = T0.date() + timedelta(days=40)


@pytest.fixture
def feed(uow: PostgresUnitOfWork) -> Driver:
    fed = Driver(uow)
    fed.seed_catalog(skus=("KTP", "KTP2"))
    return fed


def states(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("select shipment_id, state from shipments")).all())  # type: ignore[arg-type]


def outputs(outbox: PostgresOutbox) -> list[tuple[str, str, str]]:
    decoded = [decode_output_event(row.value) for row in outbox.pending(10_000, 0)]
    return [(e.type, e.data.shipment_id, e.data.trigger.id) for e in decoded]


JobFactory = Callable[..., BackgroundJobs]


@pytest.fixture
def make_job(engine: sa.Engine, feed: Driver) -> Iterator[JobFactory]:
    """Jobs on this schema; each replica has leases of its own (the row decides), and
    they are released at the end."""
    made: list[BackgroundJobs] = []

    def make(
        uow: UnitOfWork,
        clock: Callable[[], datetime],
        owner: str = "replica-1",
        metrics: Metrics | None = None,
        **timing: float,
    ) -> BackgroundJobs:
        metrics = metrics or Metrics()
        daily = DailyReevaluation(
            uow=uow,
            policy=feed.policy,
            metrics=metrics,
            relay=None,
            runs=PostgresJobRuns(engine),
            lease=PostgresLease(engine, f"daily-{owner}"),
            owner=owner,
            page_size=2,
        )
        job = BackgroundJobs(
            daily=daily,
            overdue=OverdueFlagging(
                partial(flag_overdue, engine), PostgresLease(engine, f"overdue-{owner}")
            ),
            gauges=WaitingRoomGauges(
                partial(waiting_stats, engine),
                PostgresOutbox(engine).backlog,
                metrics,
                PostgresLease(engine, f"gauges-{owner}"),
            ),
            retention=None,
            clock=clock,
            **timing,
        )
        made.append(job)
        return job

    yield make
    for job in made:
        job.stop()


def test_paging_on_postgres_decides_each_waiting_shipment_once_while_some_are_released(
    engine: sa.Engine, uow: PostgresUnitOfWork, feed: Driver, relay_outbox: PostgresOutbox
) -> None:
    for n in range(1, 8):
        feed.apply(order(f"S-{n}", ("KTP2" if n % 2 else "KTP", 1)))
    feed.apply(c.AnnounceSupply("PO-1", "A", "KTP", 3, FAR))
    later = T0 + timedelta(days=11)

    summary = reevaluate(uow, feed.policy, later, "run-1", page_size=2, retry=transient_retry())

    assert summary == ReevaluationSummary(evaluated=7, released=3, still_waiting=4)
    by_run = Counter(s for _, s, trigger in outputs(relay_outbox) if trigger == "run-1")
    assert by_run == {f"S-{n}": 1 for n in range(1, 8)}
    assert {s for s, state in states(engine).items() if state == "WAITING"} == {
        "S-1",
        "S-3",
        "S-5",
        "S-7",
    }


def test_a_dry_run_on_postgres_rolls_every_page_back(
    engine: sa.Engine, uow: PostgresUnitOfWork, feed: Driver, relay_outbox: PostgresOutbox
) -> None:
    for n in range(1, 4):
        feed.apply(order(f"S-{n}", ("KTP", 1)))
    feed.apply(c.AnnounceSupply("PO-1", "A", "KTP", 2, FAR))
    before, written = states(engine), len(outputs(relay_outbox))

    summary = reevaluate(
        uow, feed.policy, T0 + timedelta(days=11), "dry", page_size=1, dry_run=True
    )

    assert summary == ReevaluationSummary(evaluated=3, released=2, still_waiting=1)
    assert states(engine) == before
    assert len(outputs(relay_outbox)) == written


def test_the_job_runs_row_makes_a_second_run_the_same_day_a_no_op(
    engine: sa.Engine,
    uow: PostgresUnitOfWork,
    feed: Driver,
    relay_outbox: PostgresOutbox,
    make_job: JobFactory,
) -> None:
    feed.apply(order("S-1", ("KTP", 1)))
    day_one = T0 + timedelta(hours=3)
    first, other = (make_job(uow, lambda: day_one, o) for o in ("r-1", "r-2"))

    assert first.run_due() == ReevaluationSummary(evaluated=1, still_waiting=1)
    written = len(outputs(relay_outbox))
    assert other.run_due() is None
    assert first.run_due() is None
    assert len(outputs(relay_outbox)) == written
    summary = PostgresJobRuns(engine).summary("daily-reevaluation", day_one.date())
    assert summary == {"evaluated": 1, "released": 0, "still_waiting": 1, "unroutable": 0}


def test_far_supply_is_released_by_the_daily_run_of_the_day_it_comes_within_the_limit(
    engine: sa.Engine,
    uow: PostgresUnitOfWork,
    feed: Driver,
    relay_outbox: PostgresOutbox,
    make_job: JobFactory,
) -> None:
    feed.apply(order("S-1", ("KTP", 1)))
    feed.apply(c.AnnounceSupply("PO-1", "A", "KTP", 1, FAR))
    today = [T0 + timedelta(hours=3)]
    job = make_job(uow, lambda: today[0])

    assert job.run_due() == ReevaluationSummary(evaluated=1, still_waiting=1)
    today[0] += timedelta(days=10)
    assert job.run_due() == ReevaluationSummary(evaluated=1, released=1)

    assert states(engine)["S-1"] == ShipmentState.REASSIGNED.value
    released = [(s, t) for kind, s, t in outputs(relay_outbox) if kind == "shipment.released"]
    assert released == [("S-1", f"reevaluate-{today[0].date().isoformat()}")]


def test_an_unfinished_run_is_taken_over_only_once_its_owner_stopped_beating(
    engine: sa.Engine,
) -> None:
    day = T0.date()
    fresh, stale = PostgresJobRuns(engine), PostgresJobRuns(engine, stale_after_s=0)

    assert fresh.claim("job", day, "r-1") is JobClaim.CLAIMED
    assert fresh.claim("job", day, "r-2") is JobClaim.RUNNING
    assert stale.claim("job", day, "r-2") is JobClaim.CLAIMED
    assert not fresh.heartbeat("job", day, "r-1")  # r-1 learns it lost the run
    assert fresh.finish("job", day, "r-2", {"evaluated": 0})
    assert stale.claim("job", day, "r-3") is JobClaim.FINISHED


def test_a_failed_run_gives_its_claim_up_so_the_next_check_runs_the_day(
    engine: sa.Engine, uow: PostgresUnitOfWork, feed: Driver, make_job: JobFactory
) -> None:
    feed.apply(order("S-1", ("KTP", 1)))
    failures = [RuntimeError("a bug in the first attempt")]

    @contextmanager
    def failing_once() -> Iterator[PostgresStore]:
        if failures:
            raise failures.pop()
        with uow() as store:
            yield store

    job = make_job(failing_once, lambda: T0 + timedelta(hours=3))

    with pytest.raises(RuntimeError):
        job.run_due()
    assert job.run_due() == ReevaluationSummary(evaluated=1, still_waiting=1)


def test_waiting_shipments_past_their_expected_release_are_flagged_overdue(
    engine: sa.Engine, feed: Driver
) -> None:
    feed.apply(order("S-1", ("KTP", 1)))  # due after the default 14 days
    feed.apply(order("S-2", ("KTP", 1), backorder_days=30))
    feed.apply(order("S-3", ("KTP2", 1)))
    feed.apply(c.StowStock("A", "KTP2", 1))  # S-3 is released: never flagged

    assert flag_overdue(engine, T0 + timedelta(days=15), batch=1) == 1
    assert flag_overdue(engine, T0 + timedelta(days=15)) == 0
    with engine.connect() as conn:
        flagged = conn.execute(sa.text("select shipment_id from shipments where overdue"))
        assert flagged.scalars().all() == ["S-1"]


def test_a_tick_flags_overdue_shipments_and_sets_the_gauges(
    engine: sa.Engine, uow: PostgresUnitOfWork, feed: Driver, make_job: JobFactory
) -> None:
    feed.apply(order("S-1", ("KTP", 1)))
    feed.apply(order("S-2", ("KTP", 1)))
    now = T0 + timedelta(days=20)
    metrics = Metrics()
    job = make_job(uow, lambda: now, metrics=metrics)

    job.tick()

    sample = metrics.registry.get_sample_value
    assert sample("backorder_waiting_shipments") == 2
    assert sample("backorder_oldest_waiting_age_seconds") == pytest.approx(
        (now - T0 - timedelta(minutes=5)).total_seconds()
    )
    assert sample("backorder_outbox_backlog") == 2
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from shipments where overdue")).scalar() == 2


def test_the_thread_runs_the_day_soon_after_start_and_stops_cleanly(
    engine: sa.Engine, uow: PostgresUnitOfWork, feed: Driver, make_job: JobFactory
) -> None:
    feed.apply(order("S-1", ("KTP", 1)))
    now = T0 + timedelta(hours=3)
    runs = PostgresJobRuns(engine)
    job = make_job(uow, lambda: now, first_check_s=0.0, tick_every_s=0.2).start()

    deadline = time.monotonic() + 10
    while runs.summary("daily-reevaluation", now.date()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    job.stop(timeout_s=5)

    assert runs.summary("daily-reevaluation", now.date()) == {
        "evaluated": 1,
        "released": 0,
        "still_waiting": 1,
        "unroutable": 0,
    }
    assert not job.is_running()
