"""A dead Redis costs a fallback, one log line per outage and a count, never an exception."""

import logging

import pytest
import redis

from backorder_worker.adapters.redis.client import RedisGuard, make_redis
from backorder_worker.observability.metrics import Metrics
from tests.integration.redis.conftest import FakeClock

GUARD_LOGGER = "backorder_worker.adapters.redis.client"


def _sample(metrics: Metrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(name)


def test_an_empty_url_means_no_redis_and_every_call_returns_its_fallback() -> None:
    assert make_redis("") is None
    guard = RedisGuard(None)
    assert guard.run(lambda client: client.get("k"), "fallback") == "fallback"
    assert not guard.is_available


def test_a_unix_socket_url_gives_a_client_without_connecting() -> None:
    client = make_redis("unix:///nonexistent/redis.sock?db=3")
    assert client is not None
    assert client.connection_pool.connection_kwargs["db"] == 3


def test_a_call_on_a_live_redis_returns_its_result(guard: RedisGuard, metrics: Metrics) -> None:
    guard.run(lambda client: client.set("k", "v"), None)
    assert guard.run(lambda client: client.get("k"), None) == b"v"
    assert _sample(metrics, "backorder_redis_up") == 1


def test_a_dead_redis_is_logged_once_per_outage_and_every_failed_call_is_counted(
    dead_redis: redis.Redis, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    guard = RedisGuard(dead_redis, metrics=metrics, cool_off_s=5, clock=clock)
    with caplog.at_level(logging.INFO, logger=GUARD_LOGGER):
        for _ in range(3):
            assert guard.run(lambda client: client.get("k"), "fallback") == "fallback"
            clock.advance(6)  # past the cool-off: the next call tries Redis again
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].__dict__["error_type"] == "ConnectionError"
    assert _sample(metrics, "backorder_redis_errors_total") == 3
    assert _sample(metrics, "backorder_redis_up") == 0


def test_during_the_cool_off_redis_is_not_asked_and_after_it_it_is(
    dead_redis: redis.Redis, clock: FakeClock
) -> None:
    guard = RedisGuard(dead_redis, cool_off_s=5, clock=clock)
    attempts: list[int] = []

    def call(client: redis.Redis) -> object:
        attempts.append(1)
        return client.get("k")

    guard.run(call, None)
    clock.advance(4)
    guard.run(call, None)
    assert len(attempts) == 1
    assert not guard.is_available
    clock.advance(1)
    guard.run(call, None)
    assert len(attempts) == 2


def test_redis_answering_again_ends_the_outage_with_one_log_line(
    guard: RedisGuard,
    dead_redis: redis.Redis,
    metrics: Metrics,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    live = guard.client
    guard.client = dead_redis
    with caplog.at_level(logging.INFO, logger=GUARD_LOGGER):
        guard.run(lambda client: client.ping(), False)
        guard.client = live
        clock.advance(10)
        assert guard.run(lambda client: client.ping(), False) is True
        assert guard.run(lambda client: client.ping(), False) is True
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.INFO] == [
        "Redis available again"
    ]
    assert _sample(metrics, "backorder_redis_up") == 1
