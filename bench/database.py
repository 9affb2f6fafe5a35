"""What the benchmark asks Postgres directly: read counters, and the commit ceiling.

``ReadCounters`` snapshots the statistics views; the difference of two snapshots over a
phase, divided by its events, is the rows read per event: in all (``tup_returned`` +
``tup_fetched`` of the database) and per table, by sequential scans (``seq``) and by index
scans (``idx``: index entries read, dead ones included). ``table_scans_per_event`` counts the
scans started on any table (``seq_scan`` + ``idx_scan``): about one per statement that reads
a table, a floor for the statements an event costs. ``gauge_rows_read_per_event`` is the part
read from the two partial indexes that the waiting-room gauges count whole
(``entrypoints/jobs/gauges.py``: one replica, every 15 s): it grows with the room, not with
the events, so it is also given apart (``rows_read_per_event_less_gauges``). Postgres
publishes a backend's counters when it goes idle, at most once a second, so take the second
snapshot a moment after the phase has ended (``settle_s``). The harness itself reads nothing
else from the bench database during a measured phase: progress comes from the worker's
/metrics.

``commit_ceiling`` is the machine's one-commit-per-event floor: single-row INSERT
transactions, one after another on one connection, for a few seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
import sqlalchemy as sa

# What ``shipment_views.waiting_stats`` counts: the room's size from its FIFO index, the ones
# not flagged overdue from the overdue sweep's index (the sweep reads a range of it too).
GAUGE_INDEXES = ("ix_shipments_waiting_fifo", "ix_shipments_overdue_due")


def conninfo(url: str) -> str:
    """A libpq URI (for psycopg) from a SQLAlchemy URL."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class ReadCounters:
    returned: int  # pg_stat_database.tup_returned: rows scanned (seq and index)
    fetched: int  # pg_stat_database.tup_fetched: rows fetched by index scans
    commits: int
    scans: int  # seq_scan + idx_scan of every table: about one per statement that reads
    by_table: dict[str, int] = field(default_factory=dict)  # "table seq" / "table idx": rows
    gauges: int = 0  # index entries read from GAUGE_INDEXES

    @classmethod
    def take(cls, url: str, settle_s: float = 0.0) -> ReadCounters:
        time.sleep(settle_s)
        with psycopg.connect(conninfo(url), autocommit=True) as conn:
            returned, fetched, commits = conn.execute(
                "SELECT tup_returned, tup_fetched, xact_commit FROM pg_stat_database "
                "WHERE datname = current_database()"
            ).fetchone() or (0, 0, 0)
            rows = conn.execute(
                "SELECT t.relname, coalesce(t.seq_tup_read, 0), coalesce(sum(i.idx_tup_read), 0), "
                "coalesce(t.seq_scan, 0) + coalesce(t.idx_scan, 0) "
                "FROM pg_stat_user_tables t LEFT JOIN pg_stat_user_indexes i USING (relid) "
                "GROUP BY t.relname, t.seq_tup_read, t.seq_scan, t.idx_scan"
            ).fetchall()
            gauges = conn.execute(
                "SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes "
                "WHERE indexrelname = ANY(%s)",
                [list(GAUGE_INDEXES)],
            ).fetchone()
        by_table = {f"{name} seq": int(seq) for name, seq, _, _ in rows}
        by_table.update({f"{name} idx": int(idx) for name, _, idx, _ in rows})
        scans = sum(int(count) for *_, count in rows)
        gauge_rows = int(gauges[0]) if gauges else 0
        return cls(int(returned), int(fetched), int(commits), scans, by_table, gauge_rows)

    def per_event(self, before: ReadCounters, events: int) -> dict[str, Any]:
        """Rows read per event over the phase from ``before`` to this snapshot."""
        events = max(1, events)
        rows = (self.returned - before.returned) + (self.fetched - before.fetched)
        tables = {
            name: round((read - before.by_table.get(name, 0)) / events, 2)
            for name, read in self.by_table.items()
            if read != before.by_table.get(name, 0)
        }
        gauges = self.gauges - before.gauges
        return {
            "rows_read_per_event": round(rows / events, 2),
            "gauge_rows_read_per_event": round(gauges / events, 2),
            "rows_read_per_event_less_gauges": round((rows - gauges) / events, 2),
            "commits_per_event": round((self.commits - before.commits) / events, 4),
            "table_scans_per_event": round((self.scans - before.scans) / events, 2),
            "rows_read_per_event_by_table": dict(sorted(tables.items(), key=lambda kv: -kv[1])),
        }


def commit_ceiling(url: str, seconds: float = 5.0) -> dict[str, Any]:
    """Single-row INSERT transactions per second, and the p50/p99 of one commit, in ms."""
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_commit (id bigserial PRIMARY KEY, payload text NOT NULL)")
        try:
            took: list[float] = []
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                begun = time.perf_counter()
                conn.execute("INSERT INTO bench_commit (payload) VALUES (%s)", ["x" * 64])
                took.append(time.perf_counter() - begun)
            elapsed = time.perf_counter() - started
        finally:
            conn.execute("DROP TABLE bench_commit")
    took.sort()
    return {
        "commits_per_s": round(len(took) / elapsed, 1),
        "commit_p50_ms": round(took[len(took) // 2] * 1000, 3),
        "commit_p99_ms": round(took[int(len(took) * 0.99)] * 1000, 3),
        "seconds": round(elapsed, 2),
    }
