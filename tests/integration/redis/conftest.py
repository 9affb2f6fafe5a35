"""Redis-side fixtures: a guard on the real Redis, and a client of a Redis that is not there."""

import socket
from collections.abc import Iterator

import pytest
import redis

from backorder_worker.adapters.redis.client import RedisGuard, make_redis
from backorder_worker.observability.metrics import Metrics


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def guard(
    redis_client: redis.Redis, redis_url: str, metrics: Metrics, clock: FakeClock
) -> Iterator[RedisGuard]:
    """A guard on the real Redis (emptied by `redis_client`), with `clock` and `metrics`."""
    client = make_redis(redis_url)
    assert client is not None
    yield RedisGuard(client, metrics=metrics, clock=clock)
    client.close()


@pytest.fixture
def dead_redis() -> Iterator[redis.Redis]:
    """A client of a loopback port nobody listens on: every call is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_redis(f"redis://127.0.0.1:{port}/0")
    assert client is not None
    yield client
    client.close()
