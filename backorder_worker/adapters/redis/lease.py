"""Leases for the singleton jobs (daily re-evaluation, overdue flagging). The outbox sweeper
has none: every replica sweeps, under row locks (adapters/postgres/outbox.py).

A lease says which replica runs a job now. It is an economy, not a safety device: every job
is idempotent and serialised by Postgres (row locks, SKIP LOCKED), so two holders at once
— a Redis lease expiring under a paused process, or replicas that disagree on whether Redis
answers — cost duplicate work, never a wrong result.

The holder calls `acquire()` again well within the TTL (every `ttl_s / 3`, say) to renew;
a `False` means "not yours (any more)": stop the job until a later `acquire()` says `True`.

- `RedisLease`: a key set with NX and a TTL, renewed and released only by its owner (Lua).
- `PostgresLease`: a session-level advisory lock on a dedicated connection, held until
  `release()` or until the connection is lost (Postgres then frees it).
- `FallbackLease`: the Redis lease while Redis answers, the Postgres one otherwise.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Final, Protocol

import redis
import sqlalchemy as sa

from backorder_worker.adapters.redis.client import REDIS_FAILURES

log = logging.getLogger(__name__)
KEY_PREFIX: Final = "bw:lease:"

_RENEW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


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


class RedisLease:
    """`bw:lease:<name>` = `owner_id`, expiring after `ttl_s` unless renewed."""

    def __init__(self, client: redis.Redis, name: str, owner_id: str, ttl_s: float) -> None:
        self.name = name
        self.owner_id = owner_id
        self._client = client
        self._key = KEY_PREFIX + name
        self._ttl_ms = max(1, int(ttl_s * 1000))
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._held = False

    def acquire(self) -> bool:
        try:
            if self._held and self._renew(keys=[self._key], args=[self.owner_id, self._ttl_ms]):
                return True
            taken = self._client.set(self._key, self.owner_id, nx=True, px=self._ttl_ms)
        except REDIS_FAILURES as exc:
            self._held = False  # unknown; the next answer from Redis decides
            raise LeaseUnavailable(f"redis: {type(exc).__name__}") from exc
        self._held = bool(taken)
        return self._held

    def release(self) -> None:
        self._held = False
        try:
            self._release(keys=[self._key], args=[self.owner_id])
        except REDIS_FAILURES as exc:  # the TTL frees it
            raise LeaseUnavailable(f"redis: {type(exc).__name__}") from exc


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


class FallbackLease:
    """`primary` (Redis) while it answers, else `fallback` (Postgres); both share `name`.

    Coming back to the primary, the fallback is released only once the primary has
    answered, so a holder keeps the job across the switch when it can.
    """

    def __init__(self, primary: Lease, fallback: Lease) -> None:
        self.name = primary.name
        self._primary = primary
        self._fallback = fallback
        self._on_fallback = False

    def acquire(self) -> bool:
        try:
            held = self._primary.acquire()
        except LeaseUnavailable as exc:
            if not self._on_fallback:
                log.warning("lease %s: %s; using the Postgres lease", self.name, exc)
                self._on_fallback = True
            return self._fallback.acquire()
        if self._on_fallback:
            log.info("lease %s: back on the Redis lease", self.name)
            self._on_fallback = False
            self._fallback.release()
        return held

    def release(self) -> None:
        try:
            self._primary.release()
        except LeaseUnavailable:
            pass  # the key expires on its own
        finally:
            self._fallback.release()


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (advisory locks take a bigint)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8, person=b"bw-lease").digest()
    return int.from_bytes(digest, "big", signed=True)
