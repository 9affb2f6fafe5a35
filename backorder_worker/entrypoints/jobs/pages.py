"""What a re-evaluation run needs from the shell, for the `reevaluate` command and the daily
job alike.

``transient_retry`` is the page retry the use case is given: a page that failed on a
transient database error (connection, deadlock, a lost race for a shipment) rolled back
and runs again with backoff; anything else propagates. ``PublishPages`` is the
``after_page`` hook: right after a page commits, its outbox rows go to Kafka through the
relay (the fast path; what it cannot publish stays for the sweeper) and its decisions are
counted in the metrics. The run's transactions are the worker's own (``Services.uow``):
plain Postgres, no cache to refresh between pages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from backorder_worker.adapters.kafka.relay import OutboxRelay
from backorder_worker.adapters.postgres.errors import is_transient
from backorder_worker.domain.outcomes import ShipmentReleased
from backorder_worker.observability.metrics import Metrics
from backorder_worker.service_layer.reevaluation import PageDone

log = logging.getLogger(__name__)


def transient_retry(retry_for_s: float = 60.0) -> Retrying:
    """Retries an attempt on transient database errors for up to ``retry_for_s``."""
    return Retrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_delay(retry_for_s),
        wait=wait_exponential(multiplier=0.05, max=2.0) + wait_random(0, 0.05),
        before_sleep=_log_retry,
        reraise=True,
    )


@dataclass
class PublishPages:
    """Publishes each committed page's outbox rows and counts its decisions."""

    relay: OutboxRelay | None
    metrics: Metrics | None = None
    queued: int = 0  # outbox rows the pages wrote
    published: int = 0  # of those, published here
    _missed: list[int] = field(default_factory=list)  # ids of pages not fully published

    def __call__(self, page: PageDone) -> None:
        ids = page.outbox_ids
        self.queued += len(ids)
        published = self.relay.publish(ids) if self.relay is not None else 0
        self.published += published
        if published < len(ids):
            self._missed.extend(ids)
        if self.metrics is not None and ids:  # a dry run is not counted
            for decision in page.decisions:
                if isinstance(decision, ShipmentReleased):
                    self.metrics.count_release(decision.release.value)
                else:
                    self.metrics.count_unroutable(decision.state.value)

    def flush(self) -> int:
        """Tries once more what a page could not publish; returns how many rows are left
        in the outbox (for the sweeper)."""
        if self._missed and self.relay is not None:
            self.published += self.relay.publish(self._missed)  # only unpublished rows go
            self._missed.clear()
        return self.queued - self.published


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "transient failure, retrying the re-evaluation page",
        extra={"attempt": state.attempt_number, "error": repr(error)},
    )
