"""`OverdueFlagging`: waiting shipments past their expected release get the overdue flag
(R13), on one replica at a time (the ``overdue-flagging`` lease, kept between ticks).

Flagging twice is harmless (the statement only touches rows not yet flagged), so a lease
held by two replicas for a moment costs a duplicate statement, nothing more.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa

from backorder_worker.adapters.postgres.overdue import flag_overdue
from backorder_worker.adapters.redis.lease import Lease
from backorder_worker.entrypoints.jobs.leases import give_back, holds

log = logging.getLogger(__name__)
JOB = "overdue-flagging"


class OverdueFlagging:
    def __init__(self, engine: sa.Engine, lease: Lease) -> None:
        self._engine, self._lease = engine, lease

    def flag(self, now: datetime) -> int:
        """Flags what is overdue at ``now`` if this replica holds the job; how many."""
        if not holds(self._lease):
            return 0
        flagged = flag_overdue(self._engine, now)
        if flagged:
            log.info("shipments flagged overdue", extra={"flagged": flagged})
        return flagged

    def release(self) -> None:
        give_back(self._lease)
