"""Leases for the singleton jobs, on a real Redis and a real Postgres."""

import time
from collections.abc import Callable, Iterator

import pytest
import redis
import sqlalchemy as sa

from backorder_worker.adapters.postgres.lease import PostgresLease, advisory_key
from backorder_worker.adapters.redis.lease import (
    FallbackLease,
    Lease,
    LeaseUnavailable,
    RedisLease,
)


@pytest.fixture
def lease_name(unique_name: Callable[[str], str]) -> str:
    return unique_name("sweeper")


@pytest.fixture
def pg_leases(pg_engine: sa.Engine, lease_name: str) -> Iterator[Callable[[], PostgresLease]]:
    """Makes Postgres leases on `lease_name`, each with its own session; all released after."""
    made: list[PostgresLease] = []

    def make() -> PostgresLease:
        made.append(PostgresLease(pg_engine, lease_name))
        return made[-1]

    yield make
    for lease in made:
        lease.release()


def test_only_one_owner_holds_a_redis_lease_at_a_time(
    redis_client: redis.Redis, lease_name: str
) -> None:
    first = RedisLease(redis_client, lease_name, "replica-1", ttl_s=10)
    second = RedisLease(redis_client, lease_name, "replica-2", ttl_s=10)
    assert first.acquire()
    assert not second.acquire()
    assert first.acquire(), "acquiring again renews"
    assert not second.acquire()


def test_an_expired_redis_lease_passes_to_the_next_owner(
    redis_client: redis.Redis, lease_name: str
) -> None:
    first = RedisLease(redis_client, lease_name, "replica-1", ttl_s=0.2)
    second = RedisLease(redis_client, lease_name, "replica-2", ttl_s=10)
    assert first.acquire()
    time.sleep(0.3)
    assert second.acquire()
    assert not first.acquire(), "the old owner learns it lost the lease"


def test_renewing_keeps_a_redis_lease_past_its_first_ttl(
    redis_client: redis.Redis, lease_name: str
) -> None:
    first = RedisLease(redis_client, lease_name, "replica-1", ttl_s=0.6)
    second = RedisLease(redis_client, lease_name, "replica-2", ttl_s=10)
    assert first.acquire()
    for _ in range(4):  # 1 s in all
        time.sleep(0.25)
        assert first.acquire()
        assert not second.acquire()


def test_a_release_by_a_non_owner_leaves_the_lease_in_place(
    redis_client: redis.Redis, lease_name: str
) -> None:
    owner = RedisLease(redis_client, lease_name, "replica-1", ttl_s=10)
    intruder = RedisLease(redis_client, lease_name, "replica-2", ttl_s=10)
    assert owner.acquire()
    intruder.release()
    assert not intruder.acquire()
    owner.release()
    assert intruder.acquire()


def test_a_redis_lease_reports_a_dead_redis_as_unavailable(
    dead_redis: redis.Redis, lease_name: str
) -> None:
    lease = RedisLease(dead_redis, lease_name, "replica-1", ttl_s=10)
    with pytest.raises(LeaseUnavailable):
        lease.acquire()


def test_a_postgres_lease_is_exclusive_between_two_instances_until_released(
    pg_leases: Callable[[], PostgresLease],
) -> None:
    first, second = pg_leases(), pg_leases()
    assert first.acquire()
    assert not second.acquire()
    assert first.acquire(), "acquiring again renews"
    first.release()
    assert second.acquire()
    assert not first.acquire()


def test_a_postgres_lease_lost_with_its_connection_goes_to_another_instance(
    pg_engine: sa.Engine, pg_leases: Callable[[], PostgresLease]
) -> None:
    first, second = pg_leases(), pg_leases()
    assert first.acquire()
    key = advisory_key(first.name)
    with pg_engine.connect() as admin:
        killed = admin.execute(
            sa.text(
                "select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory'"
                " and classid = :high and objid = :low and objsubid = 1"
            ),
            {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF},
        ).all()
    assert killed == [(True,)]
    deadline = time.monotonic() + 5
    while not second.acquire():  # the server frees the lock as the session ends
        assert time.monotonic() < deadline, "the lock outlived its session"
        time.sleep(0.05)
    assert not first.acquire()


class SwitchableLease:
    """A Redis lease whose Redis can be taken away and given back (the test's network)."""

    def __init__(self, live: RedisLease, dead: RedisLease) -> None:
        self.name = live.name
        self.live, self.dead = live, dead
        self.down = False

    def _current(self) -> Lease:
        return self.dead if self.down else self.live

    def acquire(self) -> bool:
        return self._current().acquire()

    def release(self) -> None:
        self._current().release()


def test_a_fallback_lease_uses_postgres_when_redis_is_down(
    dead_redis: redis.Redis, lease_name: str, pg_leases: Callable[[], PostgresLease]
) -> None:
    first = FallbackLease(RedisLease(dead_redis, lease_name, "replica-1", 10), pg_leases())
    second = FallbackLease(RedisLease(dead_redis, lease_name, "replica-2", 10), pg_leases())
    assert first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()


def test_a_fallback_lease_returns_to_redis_and_frees_postgres_when_redis_answers_again(
    redis_client: redis.Redis,
    dead_redis: redis.Redis,
    lease_name: str,
    pg_leases: Callable[[], PostgresLease],
) -> None:
    primary = SwitchableLease(
        RedisLease(redis_client, lease_name, "replica-1", 10),
        RedisLease(dead_redis, lease_name, "replica-1", 10),
    )
    lease = FallbackLease(primary, pg_leases())
    primary.down = True
    assert lease.acquire()
    other_pg = pg_leases()
    assert not other_pg.acquire()
    primary.down = False
    assert lease.acquire()
    assert redis_client.get(f"bw:lease:{lease_name}") == b"replica-1"
    assert other_pg.acquire(), "the Postgres lock was given back"
