"""Per-SKU transaction locks: the one serialisation point of stock allocation.

Every transaction that decides with a SKU's stock first takes that SKU's advisory lock and
holds it until commit, across replicas and rebalances, so two decisions never draw from
the same numbers. The key is a 64-bit hash of the SKU computed here; keys are taken in
ascending order within a call, so two calls cannot deadlock each other. Two transactions
that lock further SKUs *after* their first call can: Postgres then aborts one of them with
``deadlock_detected``, which ``errors.is_transient`` classifies as retryable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

_PERSON = b"bw/sku-lock"  # a hash of its own: no collision with other advisory keys


def sku_lock_key(sku: str) -> int:
    digest = hashlib.blake2b(sku.encode("utf-8"), digest_size=8, person=_PERSON).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_keys(conn: sa.Connection, keys: Iterable[int]) -> None:
    """Takes these transaction-scoped advisory locks in ascending key order, waiting."""
    ordered = sorted(set(keys))
    if not ordered:
        return
    # unnest() yields the array in order and the projection locks row by row, in one trip.
    unnested = (
        sa.func.unnest(sa.bindparam("keys", ordered, type_=ARRAY(sa.BigInteger)))
        .table_valued("key")
        .render_derived("keys")
    )
    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(unnested.c.key))).all()
