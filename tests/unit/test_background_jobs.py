"""The worker's background jobs without a database: of the replicas refreshing the gauges,
only the lease holder counts the waiting room (issue #14), and a tick runs each job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backorder_worker.adapters.postgres.shipment_views import WaitingStats
from backorder_worker.adapters.redis.lease import LeaseUnavailable
from backorder_worker.entrypoints.jobs.gauges import WaitingRoomGauges
from backorder_worker.entrypoints.jobs.overdue import OverdueFlagging
from backorder_worker.observability.metrics import Metrics

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


class SharedLease:
    """One lease name as every replica sees it: the first to acquire holds it until it
    releases (a Redis key with no expiry, in memory)."""

    def __init__(self) -> None:
        self.holder: object | None = None

    def for_replica(self) -> ReplicaLease:
        return ReplicaLease(self)


class ReplicaLease:
    name = "waiting-room-gauges"

    def __init__(self, shared: SharedLease, *, down: bool = False) -> None:
        self._shared, self.down = shared, down

    def acquire(self) -> bool:
        if self.down:
            raise LeaseUnavailable("redis: ConnectionError")
        if self._shared.holder is None:
            self._shared.holder = self
        return self._shared.holder is self

    def release(self) -> None:
        if self._shared.holder is self:
            self._shared.holder = None


class Room:
    """The waiting room's counts, and how many times they were asked."""

    def __init__(self) -> None:
        self.counted = 0

    def stats(self) -> WaitingStats:
        self.counted += 1
        return WaitingStats(waiting=3, overdue=1, oldest_entered_at=NOW - timedelta(hours=2))


def replicas(room: Room, lease: SharedLease, n: int) -> list[tuple[WaitingRoomGauges, Metrics]]:
    made = []
    for _ in range(n):
        metrics = Metrics()
        gauges = WaitingRoomGauges(room.stats, lambda: (5, 1.5), metrics, lease.for_replica())
        made.append((gauges, metrics))
    return made


def sample(metrics: Metrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(name)


def test_of_three_replicas_only_the_lease_holder_counts_the_waiting_room_at_each_tick() -> None:
    room, lease = Room(), SharedLease()
    fleet = replicas(room, lease, 3)

    for _ in range(4):
        counted = [gauges.refresh(NOW) for gauges, _ in fleet]
        assert counted == [True, False, False]

    assert room.counted == 4
    holder, *others = (metrics for _, metrics in fleet)
    assert sample(holder, "backorder_waiting_shipments") == 3
    assert sample(holder, "backorder_overdue_shipments") == 1
    assert sample(holder, "backorder_oldest_waiting_age_seconds") == 7200
    for metrics in others:
        assert sample(metrics, "backorder_waiting_shipments") == 0
        assert sample(metrics, "backorder_oldest_waiting_age_seconds") == 0
    for metrics in (holder, *others):
        assert sample(metrics, "backorder_outbox_backlog") == 5


def test_a_replica_that_lost_the_lease_reports_zero_instead_of_its_old_count() -> None:
    room, lease = Room(), SharedLease()
    (first, first_metrics), (second, second_metrics) = replicas(room, lease, 2)
    assert first.refresh(NOW)

    first.release()
    assert second.refresh(NOW)
    assert not first.refresh(NOW)

    assert room.counted == 2
    assert sample(first_metrics, "backorder_waiting_shipments") == 0
    assert sample(second_metrics, "backorder_waiting_shipments") == 3


def test_with_no_lease_service_answering_no_replica_counts() -> None:
    room, metrics = Room(), Metrics()
    gauges = WaitingRoomGauges(
        room.stats, lambda: (0, 0.0), metrics, ReplicaLease(SharedLease(), down=True)
    )

    assert gauges.refresh(NOW) is False
    assert room.counted == 0


def test_overdue_flagging_runs_on_the_lease_holder_only() -> None:
    lease, flagged_at = SharedLease(), []

    def flag(now: datetime) -> int:
        flagged_at.append(now)
        return 2

    holder = OverdueFlagging(flag, lease.for_replica())
    other = OverdueFlagging(flag, lease.for_replica())

    assert holder.flag(NOW) == 2
    assert other.flag(NOW) == 0
    assert flagged_at == [NOW]
