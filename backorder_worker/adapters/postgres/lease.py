"""``PostgresLease``: the ``Lease`` port (``service_layer/ports/leases.py``) on a
session-level advisory lock, on a dedicated connection, held until ``release()`` or until
the connection is lost (Postgres then frees it). The fallback when Redis does not answer
(``adapters/redis/lease.py``: ``FallbackLease``).
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from backorder_worker.service_layer.ports.leases import LeaseUnavailable


class PostgresLease:
    """`pg_try_advisory_lock` on a 64-bit key derived from `name`, on its own connection.

    The connection is checked out of `engine`'s pool for as long as the lease is held, and
    is never returned to the pool with the lock on it: a failed unlock discards it.
    """

    def __init__(self, engine: sa.Engine, name: str) -> None:
        self.name = name
        self.key = advisory_key(name)
        self._engine = engine
        self._connection: sa.Connection | None = None

    def acquire(self) -> bool:
        if self._connection is not None:
            try:
                self._connection.execute(sa.text("select 1"))  # the session lives: so does the lock
                return True
            except sa.exc.SQLAlchemyError:
                self._discard()
        try:
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except sa.exc.SQLAlchemyError as exc:
            raise LeaseUnavailable(f"postgres: {type(exc).__name__}") from exc
        try:
            taken = connection.execute(
                sa.text("select pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar_one()
        except sa.exc.SQLAlchemyError as exc:
            connection.invalidate()
            connection.close()
            raise LeaseUnavailable(f"postgres: {type(exc).__name__}") from exc
        if not taken:
            connection.close()
            return False
        self._connection = connection
        return True

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute(sa.text("select pg_advisory_unlock(:key)"), {"key": self.key})
        except sa.exc.SQLAlchemyError:
            connection.invalidate()  # closing the session frees the lock
        connection.close()

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.invalidate()
            connection.close()


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (advisory locks take a bigint)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8, person=b"bw-lease").digest()
    return int.from_bytes(digest, "big", signed=True)
