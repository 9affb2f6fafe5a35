"""`DailyReevaluation`: the worker's background thread for what no event triggers.

Once per UTC day it re-evaluates the whole waiting room (R4: supply announced too far out
becomes usable as days pass), with the run id ``reevaluate-YYYY-MM-DD``. Who runs a day:

1. the ``daily-reevaluation`` lease (Redis, else a Postgres advisory lock) lets one
   replica try at a time — a fast path only;
2. the ``job_runs`` row is the truth: the replica whose INSERT of (job, day) wins runs
   the day; the others see it RUNNING or FINISHED and do nothing (a run that stopped
   beating for half an hour may be taken over, under the same run id);
3. each page commits on its own, its outbox rows are published at once through the
   relay (what fails stays for the sweeper), and the run beats in ``job_runs``;
4. the row is marked finished with the summary. A run that fails or is stopped gives
   its claim up, so the next check (or replica) runs the day again; the pages already
   committed are decided again harmlessly, with the same output ids.

Every ``tick_every_s`` (also between pages of a long run) it flags the shipments past
their expected release (R13, under the ``overdue-flagging`` lease), lets the retention job
trim expired rows when its turn is due (retention_job.py, under its own lease), and
refreshes the waiting-room and outbox gauges (on every replica: each one exports them).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Self

import sqlalchemy as sa

from backorder_worker.adapters.kafka.relay import OutboxRelay
from backorder_worker.adapters.postgres.job_runs import JobClaim, PostgresJobRuns
from backorder_worker.adapters.postgres.outbox import PostgresOutbox
from backorder_worker.adapters.postgres.overdue import flag_overdue
from backorder_worker.adapters.postgres.shipment_views import waiting_stats
from backorder_worker.adapters.redis.lease import Lease, LeaseUnavailable
from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.entrypoints.reevaluation_run import (
    PublishPages,
    direct_unit_of_work,
    transient_retry,
)
from backorder_worker.entrypoints.retention_job import JOB as RETENTION_JOB
from backorder_worker.entrypoints.retention_job import TableRetention
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer.ports import UnitOfWork
from backorder_worker.service_layer.reevaluation import PageDone, ReevaluationSummary, reevaluate
from backorder_worker.service_layer.rounds import PAGE_SIZE

if TYPE_CHECKING:
    from backorder_worker.bootstrap import Services

log = logging.getLogger(__name__)
JOB = "daily-reevaluation"
OVERDUE_JOB = "overdue-flagging"


def run_id_for(day: date) -> str:
    return f"reevaluate-{day.isoformat()}"


class DailyReevaluation:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        policy: ReleasePolicy,
        engine: sa.Engine,
        metrics: Metrics,
        relay: OutboxRelay | None,
        daily_lease: Lease,
        overdue_lease: Lease,
        owner: str,
        clock: Callable[[], datetime],
        first_check_s: float = 10.0,
        check_every_s: float = 600.0,
        tick_every_s: float = 15.0,
        page_size: int = PAGE_SIZE,
        stale_after_s: float = 1800.0,
        retention: TableRetention | None = None,
    ) -> None:
        self._uow, self._policy, self._engine, self._metrics = uow, policy, engine, metrics
        self._relay, self._owner, self._clock = relay, owner, clock
        self._daily_lease, self._overdue_lease = daily_lease, overdue_lease
        self._runs = PostgresJobRuns(engine, stale_after_s=stale_after_s)
        self._outbox = PostgresOutbox(engine)
        self._first_check_s, self._check_every_s = first_check_s, check_every_s
        self._tick_every_s, self._page_size = tick_every_s, page_size
        self._retention = retention
        self._done_on: date | None = None
        self._last_tick = float("-inf")
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=JOB, daemon=True)

    @classmethod
    def for_services(cls, services: Services, relay: OutboxRelay | None, **options: Any) -> Self:
        """The job on the worker's services; ``options`` are the timing keywords above."""
        from backorder_worker.bootstrap import utc_now

        return cls(
            uow=direct_unit_of_work(services),
            policy=services.policy,
            engine=services.engine,
            metrics=services.metrics,
            relay=relay,
            daily_lease=services.lease(JOB),
            overdue_lease=services.lease(OVERDUE_JOB),
            owner=services.owner_id,
            clock=utc_now,
            retention=TableRetention(
                services.engine, services.settings.retention, services.lease(RETENTION_JOB)
            ),
            **options,
        )

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        """Ends the loop; a run in progress stops after its current page and gives its
        claim up. Releases the leases. Safe to call more than once, or before start."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        for lease in (self._daily_lease, self._overdue_lease):
            _release(lease)
        if self._retention is not None:
            self._retention.release()

    def is_running(self) -> bool:
        return self._thread.is_alive()

    def run_due(self) -> ReevaluationSummary | None:
        """Runs today's re-evaluation if no replica has; returns its summary if it ran."""
        now = self._clock()
        today = now.date()
        if self._done_on == today or not _acquire(self._daily_lease):
            return None
        try:
            claim = self._runs.claim(JOB, today, self._owner)
            if claim is not JobClaim.CLAIMED:
                if claim is JobClaim.FINISHED:
                    self._done_on = today
                return None
            summary = self._run(today, now)
            self._runs.finish(JOB, today, self._owner, asdict(summary))
            self._done_on = today
            log.info(
                "daily re-evaluation done", extra={"run_id": run_id_for(today), **asdict(summary)}
            )
            return summary
        finally:
            _release(self._daily_lease)

    def tick(self) -> None:
        """Flags overdue shipments (if this replica holds that job) and sets the gauges."""
        self._last_tick = time.monotonic()
        now = self._clock()
        if _acquire(self._overdue_lease):
            flagged = flag_overdue(self._engine, now)
            if flagged:
                log.info("shipments flagged overdue", extra={"flagged": flagged})
        if self._retention is not None:
            self._retention.maybe_trim(now)
        stats = waiting_stats(self._engine)
        oldest = stats.oldest_entered_at
        self._metrics.waiting_shipments.set(stats.waiting)
        self._metrics.overdue_shipments.set(stats.overdue)
        self._metrics.oldest_waiting_age_seconds.set(
            0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
        )
        backlog, age = self._outbox.backlog()
        self._metrics.outbox_backlog.set(backlog)
        self._metrics.outbox_oldest_age_seconds.set(age)

    def _run(self, today: date, now: datetime) -> ReevaluationSummary:
        publish = PublishPages(self._relay, self._metrics)

        def after_page(page: PageDone) -> None:
            publish(page)
            if not self._runs.heartbeat(JOB, today, self._owner):
                raise _Abandoned("the run was taken over")
            _acquire(self._daily_lease)  # renews the fast path; the row decides
            if time.monotonic() - self._last_tick >= self._tick_every_s:
                self._guarded(self.tick)
            if self._stopping.is_set():
                raise _Abandoned("stopping")

        log.info("daily re-evaluation starting", extra={"run_id": run_id_for(today)})
        try:
            summary = reevaluate(
                self._uow,
                self._policy,
                now,
                run_id_for(today),
                page_size=self._page_size,
                retry=transient_retry(),
                after_page=after_page,
            )
        except BaseException:
            self._guarded(lambda: self._runs.abandon(JOB, today, self._owner))
            raise
        publish.flush()  # what is still left goes with the sweeper
        return summary

    def _loop(self) -> None:
        next_check = time.monotonic() + self._first_check_s
        while not self._stopping.is_set():
            if time.monotonic() - self._last_tick >= self._tick_every_s:
                self._guarded(self.tick)
            if time.monotonic() >= next_check:
                self._guarded(self.run_due)
                next_check = time.monotonic() + self._check_every_s
            wait = min(next_check, self._last_tick + self._tick_every_s) - time.monotonic()
            self._stopping.wait(max(0.5, wait))

    def _guarded(self, step: Callable[[], object]) -> None:
        """A failed step is logged and tried again at its next turn; the thread lives on."""
        try:
            step()
        except _Abandoned as why:
            log.info("daily re-evaluation given up: %s", why)
        except Exception:
            log.exception("%s failed; trying again later", getattr(step, "__name__", JOB))


class _Abandoned(Exception):
    """Stops a run between pages: the replica is stopping, or lost the run."""


def _acquire(lease: Lease) -> bool:
    try:
        return lease.acquire()
    except LeaseUnavailable:
        return False  # Postgres is down too: the job_runs claim would fail anyway


def _release(lease: Lease) -> None:
    with contextlib.suppress(LeaseUnavailable):  # it expires on its own
        lease.release()
