"""Once-a-day jobs (the daily re-evaluation): ``job_runs`` says who runs a day, and whether
it is done, so that two replicas never both run a job for the same day.

A lease (Redis) only saves the others a query; the row is the truth. ``claim`` inserts
the day's row, and the one transaction whose INSERT wins owns the run. A run whose owner
stopped beating for ``stale_after_s`` (a crash mid-run) may be taken over by the next
claim: the job is idempotent, so the new owner simply runs it again under the same run
id. Times are the database's, so replicas with skewed clocks agree on staleness.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from backorder_worker.adapters.postgres.tables import job_runs


class JobClaim(StrEnum):
    CLAIMED = "CLAIMED"  # this owner runs the day now
    FINISHED = "FINISHED"  # the day's run is done: nothing to do until tomorrow
    RUNNING = "RUNNING"  # another owner runs it and beats: look again later


class PostgresJobRuns:
    """Each call is its own short transaction."""

    def __init__(self, engine: sa.Engine, *, stale_after_s: float = 1800.0) -> None:
        self._engine = engine
        self._stale_after_s = stale_after_s

    def claim(self, job: str, run_on: date, owner: str) -> JobClaim:
        """Claims the day for ``owner``: a new row, or the row of a run gone stale."""
        statement = insert(job_runs).values(job=job, run_on=run_on, owner=owner)
        stale = job_runs.c.heartbeat_at < sa.func.now() - _seconds(self._stale_after_s)
        upsert = statement.on_conflict_do_update(
            index_elements=[job_runs.c.job, job_runs.c.run_on],
            set_={"owner": owner, "started_at": sa.func.now(), "heartbeat_at": sa.func.now()},
            where=job_runs.c.finished_at.is_(None) & stale,
        ).returning(job_runs.c.owner)
        with self._engine.begin() as conn:
            if conn.execute(upsert).first() is not None:
                return JobClaim.CLAIMED
            finished = conn.execute(
                sa.select(job_runs.c.finished_at).where(*_day(job, run_on))
            ).scalar_one_or_none()
        return JobClaim.RUNNING if finished is None else JobClaim.FINISHED

    def heartbeat(self, job: str, run_on: date, owner: str) -> bool:
        """Says the run is alive; False when the run is no longer this owner's."""
        return self._update(job, run_on, owner, {"heartbeat_at": sa.func.now()})

    def finish(self, job: str, run_on: date, owner: str, summary: Mapping[str, Any]) -> bool:
        """Marks the day done with its summary; False when the run is no longer this owner's."""
        values = {"finished_at": sa.func.now(), "heartbeat_at": sa.func.now(), "summary": summary}
        return self._update(job, run_on, owner, values)

    def abandon(self, job: str, run_on: date, owner: str) -> None:
        """Gives an unfinished claim up (a failed or stopped run): the next claim wins."""
        with self._engine.begin() as conn:
            conn.execute(
                sa.delete(job_runs).where(
                    *_day(job, run_on), job_runs.c.owner == owner, job_runs.c.finished_at.is_(None)
                )
            )

    def summary(self, job: str, run_on: date) -> dict[str, Any] | None:
        """The summary of a finished run (None if it has not finished)."""
        with self._engine.connect() as conn:
            found = conn.execute(
                sa.select(job_runs.c.summary).where(*_day(job, run_on))
            ).scalar_one_or_none()
        return None if found is None else dict(found)

    def _update(self, job: str, run_on: date, owner: str, values: Mapping[str, Any]) -> bool:
        with self._engine.begin() as conn:
            updated = conn.execute(
                sa.update(job_runs)
                .where(*_day(job, run_on), job_runs.c.owner == owner)
                .where(job_runs.c.finished_at.is_(None))
                .values(dict(values))
                .returning(job_runs.c.job)
            ).first()
        return updated is not None


def _day(job: str, run_on: date) -> list[sa.ColumnElement[bool]]:
    return [job_runs.c.job == job, job_runs.c.run_on == run_on]


def _seconds(seconds: float) -> sa.ColumnElement[Any]:
    return sa.func.make_interval(0, 0, 0, 0, 0, 0, sa.literal(float(seconds), sa.Float))
