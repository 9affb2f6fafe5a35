"""`BackgroundJobs`: the worker's one background thread, which runs the jobs no event
triggers (``entrypoints/jobs/``).

Every ``tick_every_s`` (also between the pages of a long re-evaluation) it ticks: overdue
flagging, table retention when its turn is due, the gauges. Every ``check_every_s``
(first after ``first_check_s``) it asks the daily re-evaluation whether today's run is
still to do. A failed step is logged and tried again at its next turn: the thread lives
on. ``stop`` ends a run in progress after its current page and gives the leases back.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Self

from backorder_worker.adapters.kafka.relay import OutboxRelay
from backorder_worker.adapters.postgres.overdue import flag_overdue
from backorder_worker.adapters.postgres.shipment_views import waiting_stats
from backorder_worker.bootstrap import Services, build_job_runs, utc_now
from backorder_worker.entrypoints.jobs import daily_reevaluation, gauges, overdue, retention
from backorder_worker.entrypoints.jobs.daily_reevaluation import Abandoned, DailyReevaluation
from backorder_worker.entrypoints.jobs.gauges import WaitingRoomGauges
from backorder_worker.entrypoints.jobs.overdue import OverdueFlagging
from backorder_worker.entrypoints.jobs.retention import TableRetention
from backorder_worker.service_layer.reevaluation import ReevaluationSummary

log = logging.getLogger(__name__)


class BackgroundJobs:
    def __init__(
        self,
        *,
        daily: DailyReevaluation,
        overdue: OverdueFlagging,
        gauges: WaitingRoomGauges,
        retention: TableRetention | None,
        clock: Callable[[], Any],
        first_check_s: float = 10.0,
        check_every_s: float = 600.0,
        tick_every_s: float = 15.0,
    ) -> None:
        self._daily, self._overdue, self._gauges = daily, overdue, gauges
        self._retention, self._clock = retention, clock
        self._first_check_s, self._check_every_s = first_check_s, check_every_s
        self._tick_every_s = tick_every_s
        self._last_tick = float("-inf")
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=daily_reevaluation.JOB, daemon=True)

    @classmethod
    def for_services(
        cls,
        services: Services,
        relay: OutboxRelay | None,
        *,
        page_size: int | None = None,
        stale_after_s: float = 1800.0,
        **timing: float,
    ) -> Self:
        """The jobs on the worker's services; ``timing`` is the keywords above."""
        engine = services.engine
        daily = DailyReevaluation(
            uow=services.uow,
            policy=services.policy,
            metrics=services.metrics,
            relay=relay,
            runs=build_job_runs(engine, stale_after_s=stale_after_s),
            lease=services.lease(daily_reevaluation.JOB),
            owner=services.owner_id,
            **({} if page_size is None else {"page_size": page_size}),
        )
        return cls(
            daily=daily,
            overdue=OverdueFlagging(
                functools.partial(flag_overdue, engine), services.lease(overdue.JOB)
            ),
            gauges=WaitingRoomGauges(
                functools.partial(waiting_stats, engine),
                services.outbox.backlog,
                services.metrics,
                services.lease(gauges.JOB),
            ),
            retention=TableRetention(
                engine, services.settings.retention, services.lease(retention.JOB)
            ),
            clock=utc_now,
            **timing,
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
        self._daily.release()
        self._overdue.release()
        self._gauges.release()
        if self._retention is not None:
            self._retention.release()

    def is_running(self) -> bool:
        return self._thread.is_alive()

    def run_due(self) -> ReevaluationSummary | None:
        """Runs today's re-evaluation if no replica has; returns its summary if it ran."""
        return self._daily.run_due(self._clock(), between_pages=self._between_pages)

    def tick(self) -> None:
        """Flags overdue shipments, trims expired rows when due, sets the gauges."""
        self._last_tick = time.monotonic()
        now = self._clock()
        self._overdue.flag(now)
        if self._retention is not None:
            self._retention.maybe_trim(now)
        self._gauges.refresh(now)

    def _between_pages(self) -> None:
        if time.monotonic() - self._last_tick >= self._tick_every_s:
            self._guarded(self.tick)
        if self._stopping.is_set():
            raise Abandoned("stopping")

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
        try:
            step()
        except Abandoned as why:
            log.info("daily re-evaluation given up: %s", why)
        except Exception:
            log.exception("%s failed; trying again later", getattr(step, "__name__", "job"))
