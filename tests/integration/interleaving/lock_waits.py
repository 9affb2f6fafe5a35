"""Which backends are blocked inside Postgres, and by whom (``pg_stat_activity``).

A batch that waits for a lock (an advisory SKU lock, a row, a key another transaction
inserted) cannot reach its next pause point; the scheduler asks this monitor instead of
waiting for it. A backend counts as blocked only while ``pg_blocking_pids`` names a holder:
the instant a holder commits, its waiters are granted in the lock manager, even before
they wake, so a waiter is never reported blocked by a lock that is already free.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import sqlalchemy as sa

_BLOCKED = sa.text(
    "SELECT pid, pg_blocking_pids(pid) AS holders FROM pg_stat_activity"
    " WHERE pid = ANY(:pids) AND wait_event_type = 'Lock'"
)


class LockWaits:
    """A monitor on its own autocommit connection (each query a fresh statistics snapshot)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._lock = threading.Lock()

    def blocked(self, pids: Iterable[int]) -> dict[int, set[int]]:
        """Blocked backends among ``pids`` with the pids that hold what each waits for."""
        wanted = list(pids)
        if not wanted:
            return {}
        with self._lock:
            rows = self._conn.execute(_BLOCKED, {"pids": wanted}).all()
        return {row.pid: set(row.holders) for row in rows if row.holders}

    def close(self) -> None:
        self._conn.close()


class BackendPids:
    """The backend pid of the connection each thread has checked out of an engine.

    Read once per connection (``connect`` event), remembered per thread at each checkout:
    a retried batch may get another pooled connection, and the scheduler must watch that
    one."""

    def __init__(self) -> None:
        self._by_thread: dict[int, int] = {}
        self._lock = threading.Lock()

    def watch(self, engine: sa.Engine) -> None:
        sa.event.listen(engine, "connect", self._connected)
        sa.event.listen(engine, "checkout", self._checked_out)

    def of(self, thread_id: int) -> int | None:
        with self._lock:
            return self._by_thread.get(thread_id)

    def _connected(self, dbapi_connection: object, record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("SELECT pg_backend_pid()")
        record.info["pid"] = cursor.fetchone()[0]  # type: ignore[attr-defined]
        cursor.close()
        dbapi_connection.commit()  # type: ignore[attr-defined]

    def _checked_out(self, dbapi_connection: object, record: object, proxy: object) -> None:
        with self._lock:
            self._by_thread[threading.get_ident()] = record.info["pid"]  # type: ignore[attr-defined]
