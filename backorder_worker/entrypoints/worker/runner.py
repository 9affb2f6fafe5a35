"""`backorder-worker run`: the worker with its sweeper and its health endpoints."""

from __future__ import annotations

import logging

from backorder_worker.bootstrap import build_services, build_worker
from backorder_worker.entrypoints.daily import DailyReevaluation
from backorder_worker.entrypoints.probes import WorkerProbes
from backorder_worker.observability.http import HealthServer
from backorder_worker.settings import Settings

log = logging.getLogger(__name__)


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
    daily = DailyReevaluation.for_services(services, worker.relay).start()
    worker.install_signal_handlers()
    log.info("worker started", extra={"group": settings.kafka.group_id, "http_port": health.port})
    try:
        worker.run()
    finally:
        daily.stop()  # before the relay closes: the job publishes through it
        running.close()
        health.stop()
        services.close()
        log.info("worker stopped")
