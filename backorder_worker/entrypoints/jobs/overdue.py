"""`OverdueFlagging`: waiting shipments past their expected release get the overdue flag
(R13), on one replica at a time (the ``overdue-flagging`` lease, kept between ticks).

Flagging twice is harmless (the statement only touches rows not yet flagged), so a lease
held by two replicas for a moment costs a duplicate statement, nothing more.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from backorder_worker.entrypoints.jobs.leases import give_back, holds
from backorder_worker.service_layer.ports.leases import Lease

log = logging.getLogger(__name__)
JOB = "overdue-flagging"


class OverdueFlagging:
    def __init__(self, flag_overdue: Callable[[datetime], int], lease: Lease) -> None:
        """``flag_overdue(now)`` flags what is overdue at ``now`` and says how many
        (``adapters/postgres/overdue.py``, bound to an engine)."""
        self._flag_overdue, self._lease = flag_overdue, lease

    def flag(self, now: datetime) -> int:
        """Flags what is overdue at ``now`` if this replica holds the job; how many."""
        if not holds(self._lease):
            return 0
        flagged = self._flag_overdue(now)
        if flagged:
            log.info("shipments flagged overdue", extra={"flagged": flagged})
        return flagged

    def release(self) -> None:
        give_back(self._lease)
