"""`WaitingRoomGauges`: the waiting-room and outbox gauges, refreshed at every tick.

Counting the waiting room reads its whole index (``waiting_stats``): with 1,000,000
waiting that is real work for Postgres, so one replica does it, the holder of the
``waiting-room-gauges`` lease (kept between ticks, so the same replica keeps counting).
The others set the three waiting-room gauges to 0 rather than keep a value they counted
while they held the lease: the dashboard and the alerts read these gauges with
``max(...)`` across replicas (deploy/), and the counts are never negative, so the maximum
is the holder's count. When the holder dies, the gauges read 0 until another replica
takes the lease (its TTL, 30 s, at most).

The outbox backlog is a cheap read of the unpublished rows' own index: every replica sets
it, so the outbox alerts do not wait on a lease.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from backorder_worker.adapters.postgres.shipment_views import WaitingStats
from backorder_worker.entrypoints.jobs.leases import give_back, holds
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer.ports.leases import Lease

JOB = "waiting-room-gauges"


class WaitingRoomGauges:
    def __init__(
        self,
        waiting_stats: Callable[[], WaitingStats],
        outbox_backlog: Callable[[], tuple[int, float]],
        metrics: Metrics,
        lease: Lease,
    ) -> None:
        """``waiting_stats()`` counts the waiting room (``adapters/postgres/shipment_views.py``),
        ``outbox_backlog()`` says how many outbox rows wait and the oldest one's age
        (``PostgresOutbox.backlog``)."""
        self._waiting_stats, self._outbox_backlog = waiting_stats, outbox_backlog
        self._metrics, self._lease = metrics, lease

    def refresh(self, now: datetime) -> bool:
        """Sets the gauges; True when this replica counted the waiting room."""
        counted = holds(self._lease)
        if counted:
            stats = self._waiting_stats()
            oldest = stats.oldest_entered_at
            age = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
            self._set_waiting_room(stats.waiting, stats.overdue, age)
        else:
            self._set_waiting_room(0, 0, 0.0)  # another replica counts: see the docstring
        backlog, oldest_age = self._outbox_backlog()
        self._metrics.outbox_backlog.set(backlog)
        self._metrics.outbox_oldest_age_seconds.set(oldest_age)
        return counted

    def release(self) -> None:
        give_back(self._lease)

    def _set_waiting_room(self, waiting: int, overdue: int, oldest_age_s: float) -> None:
        self._metrics.waiting_shipments.set(waiting)
        self._metrics.overdue_shipments.set(overdue)
        self._metrics.oldest_waiting_age_seconds.set(oldest_age_s)
