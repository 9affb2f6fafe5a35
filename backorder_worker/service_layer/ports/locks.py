"""The lock port: the advisory locks a transaction holds until commit.

``service_layer/locking.py`` has the rules (what each kind of lock guards, and the order
they are taken in); this port is how a transaction asks for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from backorder_worker.service_layer.locking import LockNeeds


class LockPort(Protocol):
    def lock(self, needs: LockNeeds) -> None:
        """Takes these locks until commit (``service_layer/locking.py`` has the rules).
        The transaction's first call (even an empty one) waits for them, all in one
        global order; a later call never waits: if another transaction holds one, it
        raises ``LockContended`` naming them, and the caller re-runs the transaction with
        them in its first call.
        Re-taking a held lock is a no-op."""

    def lock_skus(self, skus: Iterable[str]) -> None:
        """``lock`` of these SKUs alone."""

    def skus_raised_by_nobody(self, skus: Iterable[str]) -> set[str]:
        """Which of these SKUs no *other* transaction is raising at this instant: nobody
        else holds their raise lock (``locking`` rule 4; this transaction's own raises
        count as nobody's). Takes no lock: a moment later another may."""
