"""Flagging waiting shipments past their ``expected_release_by`` (R13).

A decision sets ``overdue`` when it is made; this catches the shipments that pass their
date while nothing happens to them. It walks the partial index of the candidates (waiting,
not yet flagged) in short batches, skipping rows another transaction holds (a release in
progress): those are decided, and flagged or not, by that transaction, or the next pass.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from backorder_worker.adapters.postgres.tables import OVERDUE_CANDIDATE_PREDICATE, shipments

BATCH = 1000


def flag_overdue(engine: sa.Engine, now: datetime, batch: int = BATCH) -> int:
    """Sets ``overdue`` on every waiting shipment due before ``now``; returns how many."""
    due = (
        sa.select(shipments.c.shipment_id)
        .where(sa.text(OVERDUE_CANDIDATE_PREDICATE), shipments.c.expected_release_by < now)
        .order_by(shipments.c.expected_release_by)
        .limit(batch)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    flag = (
        sa.update(shipments)
        .where(shipments.c.shipment_id.in_(due))
        .values(overdue=True, updated_at=now)
        .returning(shipments.c.shipment_id)
    )
    flagged = 0
    while True:
        with engine.begin() as conn:
            count = len(conn.execute(flag).all())
        flagged += count
        if count < batch:
            return flagged
