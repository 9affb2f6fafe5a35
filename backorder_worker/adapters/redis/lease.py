"""Leases for the singleton jobs (the ``Lease`` port, ``service_layer/ports/leases.py``)
on Redis. The outbox sweeper has none: every replica sweeps, under row locks
(adapters/postgres/outbox.py).

Two holders at once — a Redis lease expiring under a paused process, or replicas that
disagree on whether Redis answers — cost duplicate work, never a wrong result.

- `RedisLease`: a key set with NX and a TTL, renewed and released only by its owner (Lua).
- `FallbackLease`: the Redis lease while Redis answers, the Postgres one
  (``adapters/postgres/lease.py``) otherwise.
"""

from __future__ import annotations

import logging
from typing import Final

import redis

from backorder_worker.adapters.redis.client import REDIS_FAILURES
from backorder_worker.service_layer.ports.leases import Lease, LeaseUnavailable

__all__ = ["FallbackLease", "Lease", "LeaseUnavailable", "RedisLease"]

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
