"""`DailyReevaluation`: once per UTC day, every waiting shipment decided again (R4: supply
announced too far out becomes usable as days pass), with the run id
``reevaluate-YYYY-MM-DD``. Who runs a day:

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

Between pages the caller's ``between_pages`` runs (the background thread ticks the other
jobs there, and raises `Abandoned` to stop a run when the replica stops).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime

from backorder_worker.adapters.kafka.relay import OutboxRelay
from backorder_worker.adapters.postgres.job_runs import JobClaim, PostgresJobRuns
from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.entrypoints.jobs.leases import give_back, holds
from backorder_worker.entrypoints.jobs.pages import PublishPages, transient_retry
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer.ports import UnitOfWork
from backorder_worker.service_layer.ports.leases import Lease
from backorder_worker.service_layer.reevaluation import PageDone, ReevaluationSummary, reevaluate
from backorder_worker.service_layer.rounds import PAGE_SIZE

log = logging.getLogger(__name__)
JOB = "daily-reevaluation"


def run_id_for(day: date) -> str:
    return f"reevaluate-{day.isoformat()}"


class Abandoned(Exception):
    """Stops a run between pages: the replica is stopping, or lost the run."""


class DailyReevaluation:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        policy: ReleasePolicy,
        metrics: Metrics,
        relay: OutboxRelay | None,
        runs: PostgresJobRuns,
        lease: Lease,
        owner: str,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._uow, self._policy, self._metrics, self._relay = uow, policy, metrics, relay
        self._runs, self._lease, self._owner = runs, lease, owner
        self._page_size = page_size
        self._done_on: date | None = None

    def run_due(
        self, now: datetime, between_pages: Callable[[], None] = lambda: None
    ) -> ReevaluationSummary | None:
        """Runs the re-evaluation of ``now``'s day if no replica has; its summary if it ran."""
        today = now.date()
        if self._done_on == today or not holds(self._lease):
            return None
        try:
            claim = self._runs.claim(JOB, today, self._owner)
            if claim is not JobClaim.CLAIMED:
                if claim is JobClaim.FINISHED:
                    self._done_on = today
                return None
            summary = self._run(today, now, between_pages)
            self._runs.finish(JOB, today, self._owner, asdict(summary))
            self._done_on = today
            log.info(
                "daily re-evaluation done", extra={"run_id": run_id_for(today), **asdict(summary)}
            )
            return summary
        finally:
            give_back(self._lease)

    def release(self) -> None:
        give_back(self._lease)

    def _run(
        self, today: date, now: datetime, between_pages: Callable[[], None]
    ) -> ReevaluationSummary:
        publish = PublishPages(self._relay, self._metrics)

        def after_page(page: PageDone) -> None:
            publish(page)
            if not self._runs.heartbeat(JOB, today, self._owner):
                raise Abandoned("the run was taken over")
            holds(self._lease)  # renews the fast path; the row decides
            between_pages()

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
            try:
                self._runs.abandon(JOB, today, self._owner)
            except Exception:
                log.exception("giving the daily re-evaluation's claim up failed")
            raise
        publish.flush()  # what is still left goes with the sweeper
        return summary
