"""How a background job holds its lease: a lease that cannot be asked is not held.

A lease is an economy (``adapters/redis/lease.py``): when neither Redis nor Postgres
answers, the job's own statements would fail anyway, so "not held" is the safe answer, and
a lease that cannot be given back expires with its TTL or its session.
"""

from __future__ import annotations

import contextlib

from backorder_worker.service_layer.ports.leases import Lease, LeaseUnavailable


def holds(lease: Lease) -> bool:
    """Takes or renews ``lease``; False when another replica holds it or nobody answers."""
    try:
        return lease.acquire()
    except LeaseUnavailable:
        return False


def give_back(lease: Lease) -> None:
    """Releases ``lease`` if held; a failure leaves it to expire on its own."""
    with contextlib.suppress(LeaseUnavailable):
        lease.release()
