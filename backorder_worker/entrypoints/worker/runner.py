"""`backorder-worker run`: the consume loop assembled from what bootstrap builds, with its
sweeper, its daily jobs and its health endpoints."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from backorder_worker.adapters.kafka.relay import OutboxSweeper
from backorder_worker.bootstrap import (
    SWEEP_INTERVAL_S,
    Services,
    WorkerParts,
    build_services,
    build_worker_parts,
)
from backorder_worker.entrypoints.jobs.background import BackgroundJobs
from backorder_worker.entrypoints.probes import WorkerProbes
from backorder_worker.entrypoints.worker.batch import BatchProcessor
from backorder_worker.entrypoints.worker.loop import Worker
from backorder_worker.observability.http import HealthServer
from backorder_worker.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Running:
    """The worker and the parts it owns, to be closed together."""

    worker: Worker
    parts: WorkerParts

    @property
    def sweeper(self) -> OutboxSweeper:
        return self.parts.sweeper

    def close(self) -> None:
        self.parts.close()


def build_worker(
    services: Services,
    *,
    exit_when_idle_s: float | None = None,
    client_id: str | None = None,
    sweep_interval_s: float = SWEEP_INTERVAL_S,
) -> Running:
    parts = build_worker_parts(services, client_id=client_id, sweep_interval_s=sweep_interval_s)
    worker = Worker(
        parts.source,
        BatchProcessor(services.apply_batch, services.metrics),
        parts.relay,
        services.metrics,
        heartbeat=services.guard.ping,
        exit_when_idle_s=exit_when_idle_s,
        progress=parts.progress,
    )
    return Running(worker, parts)


def run_worker(
    settings: Settings, *, http_port: int = 8000, exit_when_idle_s: float | None = None
) -> None:
    services = build_services(settings)
    running = build_worker(services, exit_when_idle_s=exit_when_idle_s)
    worker = running.worker

    probes = WorkerProbes(worker.source, services.engine, worker.progress)
    health = HealthServer(services.metrics, probes.is_live, probes.is_ready, port=http_port)
    health.start()
    running.sweeper.start()
    jobs = BackgroundJobs.for_services(services, worker.relay).start()
    worker.install_signal_handlers()
    log.info("worker started", extra={"group": settings.kafka.group_id, "http_port": health.port})
    try:
        worker.run()
    finally:
        jobs.stop()  # before the relay closes: the job publishes through it
        running.close()
        health.stop()
        services.close()
        log.info("worker stopped")
