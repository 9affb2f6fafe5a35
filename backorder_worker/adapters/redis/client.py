"""A Redis client that fails fast, and `RedisGuard`, which turns an outage into a fallback.

Redis is never the truth, so a call that fails is not retried: the caller takes its
fallback (Postgres, or no cache) and goes on. The client is built with short socket
timeouts and no retries, so a dead Redis costs a fraction of a second, and the guard then
stops asking for a cool-off period, so an outage costs that fraction once per period, not
once per call. The guard logs an outage once when it starts and once when it ends, counts
every failed call in `backorder_redis_errors_total` and keeps `backorder_redis_up` current.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from backorder_worker.observability.metrics import Metrics

log = logging.getLogger(__name__)
T = TypeVar("T")

SOCKET_TIMEOUT_S: Final = 0.3
COOL_OFF_S: Final = 5.0
# What a Redis outage looks like from redis-py: its own errors, and socket errors it lets by.
REDIS_FAILURES: Final = (redis.exceptions.RedisError, OSError)


def make_redis(url: str, *, socket_timeout_s: float = SOCKET_TIMEOUT_S) -> redis.Redis | None:
    """A client for `url` (`redis://`, `rediss://` or `unix://`), or None when `url` is empty.

    Connecting is lazy: this never touches the network, and a Redis that is down now is
    simply reported by the guard at the first call.
    """
    if not url:
        return None
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout_s,
        socket_connect_timeout=socket_timeout_s,
        retry=Retry(NoBackoff(), 0),  # the guard decides what a failure costs, not redis-py
        health_check_interval=30,
    )


class RedisGuard:
    """Runs Redis calls; on failure returns the caller's fallback and pauses Redis for a while.

    Thread-safe. With no client (Redis disabled) every call returns its fallback at once,
    silently. `is_available` says whether calls are being attempted right now.
    """

    def __init__(
        self,
        client: redis.Redis | None,
        *,
        metrics: Metrics | None = None,
        cool_off_s: float = COOL_OFF_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self._metrics = metrics
        self._cool_off_s = cool_off_s
        self._clock = clock
        self._lock = threading.Lock()
        self._down_until: float | None = None  # None: up (or never tried)
        if metrics is not None:
            metrics.redis_up.set(0 if client is None else 1)
            # Without Redis (a supported mode) redis_up is 0 by design: this says so, so a
            # dashboard or an alert does not count such a replica as one whose Redis is down.
            metrics.redis_enabled.set(0 if client is None else 1)

    @property
    def is_available(self) -> bool:
        if self.client is None:
            return False
        with self._lock:
            return self._down_until is None or self._clock() >= self._down_until

    def run(self, call: Callable[[redis.Redis], T], fallback: T) -> T:
        """`call(client)`, or `fallback` if Redis is disabled, cooling off, or fails now."""
        client = self.client
        if client is None or not self.is_available:
            return fallback
        try:
            result = call(client)
        except REDIS_FAILURES as exc:
            self._failed(exc)
            return fallback
        self._succeeded()
        return result

    def ping(self) -> bool:
        """Asks Redis whether it answers, so that ``backorder_redis_up`` stays current (and an
        outage is logged) even while no job needs Redis."""
        return self.run(lambda client: bool(client.ping()), False)

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            first = self._down_until is None
            self._down_until = self._clock() + self._cool_off_s
        if self._metrics is not None:
            self._metrics.redis_errors_total.inc()
            self._metrics.redis_up.set(0)
        if first:
            log.warning(
                "Redis unavailable, falling back to Postgres; next try in %.1f s",
                self._cool_off_s,
                extra={"error_type": type(exc).__name__, "error": str(exc)},
            )
        else:
            log.debug("Redis still unavailable", extra={"error_type": type(exc).__name__})

    def _succeeded(self) -> None:
        with self._lock:
            recovered = self._down_until is not None
            self._down_until = None
        if recovered:
            if self._metrics is not None:
                self._metrics.redis_up.set(1)
            log.info("Redis available again")
