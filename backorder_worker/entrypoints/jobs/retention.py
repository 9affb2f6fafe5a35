"""`TableRetention`: keeps the outbox, inbox, history and ledger bounded
(``adapters/postgres/retention.py`` deletes).

The worker's background thread (``background.py``) calls `maybe_trim` at each of its
ticks. Every `every_s` (and at the first tick) the replica that takes the
``table-retention`` lease trims each table in batches of `BATCH_ROWS`, at most
`max_batches` per table per turn, so a first run on a large backlog spreads over several
turns instead of holding the thread, and gives the lease back. Two replicas trimming at
once (a lease lost mid-turn) would only delete the same expired rows: each batch is its
own transaction, and deleting a row twice deletes it once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from backorder_worker.adapters.postgres.engine import Engine
from backorder_worker.adapters.postgres.retention import (
    HISTORY,
    INBOX,
    LEDGER,
    OUTBOX,
    Trim,
    days_before,
    trim_all,
)
from backorder_worker.entrypoints.jobs.leases import give_back, holds
from backorder_worker.service_layer.ports.leases import Lease
from backorder_worker.settings import RetentionSettings

log = logging.getLogger(__name__)
JOB = "table-retention"


class TableRetention:
    def __init__(
        self,
        engine: Engine,
        settings: RetentionSettings,
        lease: Lease,
        *,
        every_s: float = 300.0,
        max_batches: int = 50,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine, self._settings, self._lease = engine, settings, lease
        self._every_s, self._max_batches, self._monotonic = every_s, max_batches, monotonic
        self._next = float("-inf")

    def maybe_trim(self, now: datetime) -> dict[str, int] | None:
        """Trims if a turn is due and this replica holds the lease; returns rows deleted
        per table when it trimmed."""
        if self._monotonic() < self._next:
            return None
        self._next = self._monotonic() + self._every_s
        if not holds(self._lease):
            return None
        try:
            deleted = self.trim(now)
        finally:
            # Given back after each turn: a Postgres lease would hold a pooled connection
            # until the next turn, minutes away; whoever takes it next trims next.
            self.release()
        if any(deleted.values()):
            log.info("expired rows deleted", extra=deleted)
        return deleted

    def trim(self, now: datetime) -> dict[str, int]:
        """One turn over the four tables, whoever holds the lease (tests, operators)."""
        s = self._settings
        turns: list[tuple[str, Trim, int]] = [
            ("outbox", OUTBOX, s.outbox_published_days),
            ("inbox", INBOX, s.inbox_days),
            ("history", HISTORY, s.history_days),
            ("ledger", LEDGER, s.ledger_days),
        ]
        return {
            name: trim_all(
                self._engine, trim, days_before(now, days), max_batches=self._max_batches
            )
            for name, trim, days in turns
        }

    def release(self) -> None:
        give_back(self._lease)
