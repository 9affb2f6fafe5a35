"""The worker's Prometheus metrics (SPEC §4): its own, every name prefixed `backorder_`,
and the standard process and interpreter collectors.

`Metrics` owns its own `CollectorRegistry` instead of the process-global one, so that the
composition root builds exactly one and tests can build as many as they like. A private
registry starts without the standard collectors (`process_*`, `python_info`,
`python_gc_*`), so they are added to it here. The metrics are plain attributes; the
`count_*` and `set_*` helpers exist where a typed label (an outcome, a release kind) or a
stale series (a revoked partition) is easy to get wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Final, Literal

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

EventOutcome = Literal["applied", "duplicate", "invalid", "conflict"]
ReleaseKind = Literal["CURRENT", "FUTURE", "CURRENT_AND_FUTURE"]
UnroutableState = Literal["WAITING", "UNROUTABLE"]
TimedScope = Literal["batch", "event"]

# 1 ms (a duplicate acknowledged) to 10 s (a large batch after an outage).
PROCESSING_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
BATCH_SIZE_BUCKETS: Final = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def package_version() -> str:
    """The installed distribution's version ("unknown" when run from a bare checkout)."""
    try:
        return version("backorder-worker")
    except PackageNotFoundError:
        return "unknown"


class Metrics:
    """Every metric the worker exports, registered in `registry`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        if r is not REGISTRY:  # the global one has them already; twice would raise
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)
        self.build_info = Info("backorder_build", "The worker's version.", registry=r)
        self.build_info.info({"version": package_version()})
        self.events_total = Counter(
            "backorder_events", "Input events by outcome.", ["topic", "type", "outcome"], registry=r
        )
        self.releases_total = Counter(
            "backorder_releases", "Shipments released, by kind of release.", ["release"], registry=r
        )
        self.unroutable_total = Counter(
            "backorder_unroutable", "Still-unroutable events published.", ["state"], registry=r
        )
        self.dead_letters_total = Counter(
            "backorder_dead_letters", "Messages sent to dead-letter.", ["error_type"], registry=r
        )
        self.lock_reruns_total = Counter(
            "backorder_lock_reruns",
            "Batch transactions run again because another held a lock a round needed.",
            registry=r,
        )
        self.supply_cuts_total = Counter(
            "backorder_supply_cuts",
            "Future-inventory updates that left units promised to FUTURE shipments uncovered.",
            registry=r,
        )
        self.supply_shortfall_units_total = Counter(
            "backorder_supply_shortfall_units",
            "Promised future units that supply cuts left uncovered (each cut's new shortfall).",
            registry=r,
        )
        self.redis_errors_total = Counter(
            "backorder_redis_errors", "Redis calls that failed (the fallback was used).", registry=r
        )
        self.waiting_shipments = Gauge(
            "backorder_waiting_shipments", "Shipments in the waiting room.", registry=r
        )
        self.oldest_waiting_age_seconds = Gauge(
            "backorder_oldest_waiting_age_seconds",
            "Age of the oldest shipment in the waiting room.",
            registry=r,
        )
        self.processing_seconds = Histogram(
            "backorder_processing_seconds",
            "Time to process a batch or one event, commit included.",
            ["scope"],
            buckets=PROCESSING_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "backorder_batch_size",
            "Records per polled batch.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=r,
        )
        self.outbox_backlog = Gauge(
            "backorder_outbox_backlog", "Outbox rows not yet published.", registry=r
        )
        self.outbox_oldest_age_seconds = Gauge(
            "backorder_outbox_oldest_age_seconds",
            "Age of the oldest unpublished outbox row.",
            registry=r,
        )
        self.consumer_lag = Gauge(
            "backorder_consumer_lag",
            "Records behind the end of each assigned partition.",
            ["topic", "partition"],
            registry=r,
        )
        self.redis_up = Gauge("backorder_redis_up", "1 when Redis answers, else 0.", registry=r)
        self.redis_enabled = Gauge(
            "backorder_redis_enabled",
            "1 when a Redis URL is configured; 0 runs without Redis (redis_up is then 0 too).",
            registry=r,
        )
        self.overdue_shipments = Gauge(
            "backorder_overdue_shipments",
            "Waiting shipments flagged overdue (past their expected release, R13).",
            registry=r,
        )
        self.partitions_assigned = Gauge(
            "backorder_partitions_assigned", "Partitions assigned to this replica.", registry=r
        )

    def count_event(self, topic: str, event_type: str, outcome: EventOutcome) -> None:
        self.events_total.labels(topic=topic, type=event_type, outcome=outcome).inc()

    def count_release(self, release: ReleaseKind) -> None:
        self.releases_total.labels(release=release).inc()

    def count_unroutable(self, state: UnroutableState) -> None:
        self.unroutable_total.labels(state=state).inc()

    def count_dead_letter(self, error_type: str) -> None:
        self.dead_letters_total.labels(error_type=error_type).inc()

    def processing(self, scope: TimedScope) -> Histogram:
        """The histogram to time with: `with metrics.processing("event").time(): ...`."""
        return self.processing_seconds.labels(scope=scope)

    def set_consumer_lag(self, lags: Mapping[tuple[str, int], int]) -> None:
        """Replaces every lag series, so partitions revoked in a rebalance disappear; `lags`
        holds every partition assigned to this replica, which also sets `partitions_assigned`."""
        self.consumer_lag.clear()
        for (topic, partition), lag in lags.items():
            self.consumer_lag.labels(topic=topic, partition=str(partition)).set(lag)
        self.partitions_assigned.set(len(lags))

    def render(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)
