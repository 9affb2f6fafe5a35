"""The inbox: the ids of the events applied, each claimed in the transaction of its effect.

A claim is an ``INSERT ... ON CONFLICT DO NOTHING``: the row commits or rolls back with
the event's effect, so an event is applied exactly once, and a unique-key conflict means
"already done" (or, with another digest, a reused id: a producer bug).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from backorder_worker.adapters.postgres.rows import unnested
from backorder_worker.adapters.postgres.tables import inbox
from backorder_worker.service_layer.ports import Claim

_CLAIM = insert(inbox).on_conflict_do_nothing(index_elements=[inbox.c.event_id])
_CLAIMED = unnested("claimed", c_event_id=sa.Text(), c_event_type=sa.Text(), c_digest=sa.Text())
# A batch's claims in one statement of one text (arrays), so it is parsed and planned once.
_CLAIM_ALL = (
    insert(inbox)
    .from_select(["event_id", "event_type", "digest"], sa.select(_CLAIMED))
    .on_conflict_do_nothing(index_elements=[inbox.c.event_id])
    .returning(inbox.c.event_id)
)


def claim_all(conn: sa.Connection, claims: Sequence[tuple[str, str, str]]) -> set[str]:
    """Claims every (event_id, event_type, digest) in one statement (the first of a
    repeated id); returns the ids claimed now, i.e. not seen before. The ids go in
    ascending order: two batches claiming some of the same ids at once (replay, a
    rebalance) wait for each other's uncommitted ids in one order, never in a cycle
    (``service_layer/locking.py``)."""
    fresh: dict[str, tuple[str, str]] = {}
    for event_id, event_type, digest in claims:
        fresh.setdefault(event_id, (event_type, digest))
    if not fresh:
        return set()
    ids = sorted(fresh)
    params = {
        "c_event_id": ids,
        "c_event_type": [fresh[event_id][0] for event_id in ids],
        "c_digest": [fresh[event_id][1] for event_id in ids],
    }
    return set(conn.execute(_CLAIM_ALL, params).scalars())


def claim(conn: sa.Connection, event_id: str, event_type: str, digest: str) -> Claim:
    """Claims one id: NEW, or DUPLICATE / CONFLICT by the digest it was claimed with."""
    values = {"event_id": event_id, "event_type": event_type, "digest": digest}
    if conn.execute(_CLAIM.values(values).returning(inbox.c.event_id)).first() is not None:
        return Claim.NEW
    # A concurrent claimer of the same id made our INSERT wait for its commit, so the
    # row is visible to this (READ COMMITTED) statement.
    seen = conn.execute(sa.select(inbox.c.digest).where(inbox.c.event_id == event_id))
    return Claim.DUPLICATE if seen.scalar_one() == digest else Claim.CONFLICT


def release(conn: sa.Connection, event_id: str) -> None:
    """Forgets a claim of this transaction (the event had no effect)."""
    conn.execute(sa.delete(inbox).where(inbox.c.event_id == event_id))
