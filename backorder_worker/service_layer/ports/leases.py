"""The lease port: which replica runs a singleton job (daily re-evaluation, overdue
flagging, retention) now.

A lease is an economy, not a safety device: every job is idempotent and serialised by
Postgres (row locks, SKIP LOCKED), so two holders at once cost duplicate work, never a
wrong result. The holder calls ``acquire()`` again well within the TTL (every ``ttl_s /
3``, say) to renew; a ``False`` means "not yours (any more)": stop the job until a later
``acquire()`` says ``True``. Redis and Postgres implement it (``adapters/redis/lease.py``,
``adapters/postgres/lease.py``).
"""

from __future__ import annotations

from typing import Protocol


class Lease(Protocol):
    name: str

    def acquire(self) -> bool:
        """Takes the lease if free, renews it if this owner holds it; True iff held now.
        Raises `LeaseUnavailable` when the backing service does not answer: the caller
        treats that as not held. One lease object belongs to one thread."""

    def release(self) -> None:
        """Gives the lease up if this owner holds it; otherwise does nothing. May raise
        `LeaseUnavailable` too: the lease then ends with its TTL or its session."""


class LeaseUnavailable(Exception):
    """The service behind a lease did not answer: whether it is held is unknown."""
