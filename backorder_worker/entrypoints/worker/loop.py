"""The consume loop of `backorder-worker run`.

Per poll batch, in this order (``batch.py`` holds steps 2 and 3, the transaction itself
is the service layer's ``ApplyBatch``):

1. poll a batch of records from the assigned partitions;
2. decode and validate them (invalid: a dead letter, never a retry);
3. one Postgres transaction: inbox, locks, decisions, state, outbox rows, dead letters;
   commit. Only now is the batch's effect durable;
4. publish the outbox rows that transaction wrote (the relay); a failure leaves them to
   the sweeper and does not stall the loop;
5. commit the offsets of the batch.

A crash before 3 commits: the batch is redelivered and applied once. Between 3 and 5: the
batch is redelivered and the inbox acknowledges every event as a duplicate; rows not yet
published are published by the sweeper. SIGTERM/SIGINT finish the batch in hand, commit
and leave the group; a second SIGINT stops at once.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from backorder_worker.adapters.kafka.consumer import KafkaSource
from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.adapters.kafka.relay import OutboxRelay
from backorder_worker.entrypoints.worker import fault_points
from backorder_worker.entrypoints.worker.batch import BatchProcessor
from backorder_worker.observability.metrics import Metrics
from backorder_worker.observability.progress import LoopProgress

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        source: KafkaSource,
        processor: BatchProcessor,
        relay: OutboxRelay,
        metrics: Metrics,
        *,
        heartbeat: Callable[[], object] = lambda: None,
        poll_timeout_ms: int = 500,
        exit_when_idle_s: float | None = None,
        progress: LoopProgress | None = None,
    ) -> None:
        self.source, self.processor, self.relay, self.metrics = source, processor, relay, metrics
        self.heartbeat = heartbeat  # checks of what batches may not touch (Redis)
        self.poll_timeout_ms = poll_timeout_ms
        self.exit_when_idle_s = exit_when_idle_s
        # Marked at each turn of the loop; the liveness probe reads it (progress.py).
        self.progress = progress if progress is not None else LoopProgress(float("inf"))
        self._stopping = threading.Event()
        self._interrupts = 0
        self.batches = 0

    def stop(self) -> None:
        self._stopping.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._interrupts += 1
        if signum == signal.SIGINT and self._interrupts > 1:
            raise KeyboardInterrupt  # the second Ctrl-C: stop now, commit nothing more
        log.info("stopping after the batch in hand", extra={"signal": signum})
        self.stop()

    def run(self) -> None:
        idle_since = time.monotonic()
        last_lag = 0.0
        try:
            while not self._stopping.is_set():
                records = self.source.poll(self.poll_timeout_ms)
                self.progress.mark(len(self.source.assignment()))
                now = time.monotonic()
                if now - last_lag > 5.0 or not records:
                    self._report_lag()
                    self.heartbeat()
                    last_lag = now
                if not records:
                    if (
                        self.exit_when_idle_s is not None
                        and now - idle_since > self.exit_when_idle_s
                    ):
                        log.info("idle; exiting (burst mode)")
                        break
                    continue
                idle_since = now
                self._process(records)
        finally:
            self.source.close()

    def _process(self, records: list[SourceRecord]) -> None:
        result = self.processor.process(records)  # steps 2-3
        fault_points.maybe_crash(fault_points.AFTER_DB_COMMIT)
        if result.applied:
            fault_points.maybe_crash(fault_points.APPLIED_AFTER_COMMIT)
        self.relay.publish_rows(result.outbox_rows)  # step 4
        fault_points.maybe_crash(fault_points.AFTER_PUBLISH)
        self.source.commit(records)  # step 5
        self.batches += 1
        log.info(
            "batch done",
            extra={
                "records": len(records),
                "applied": result.applied,
                "duplicates": result.duplicates,
                "invalid": result.invalid,
                "first": records[0].position,
                "last": records[-1].position,
            },
        )

    def _report_lag(self) -> None:
        try:
            lags = self.source.lag()
        except Exception:  # a metric must never stop the loop
            log.debug("lag unavailable", exc_info=True)
            return
        self.metrics.set_consumer_lag({(p.topic, p.partition): lag for p, lag in lags.items()})
        # lag covers fetched partitions only; the assignment is known before the first fetch
        self.metrics.partitions_assigned.set(len(self.source.assignment()))
