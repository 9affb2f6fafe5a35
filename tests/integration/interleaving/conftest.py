"""The interleaving lab: a migrated schema of its own, Redis, and retries without backoff.

``deadlock_timeout`` is 100 ms on these connections (Postgres' default is 1 s): a deadlock
costs a schedule that long, and it stays long enough that the first of two waiters is the
one Postgres aborts (see ``scheduler``). The batches retry without backoff (``harness``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
import sqlalchemy as sa

from backorder_worker.adapters.postgres.engine import make_engine
from backorder_worker.adapters.postgres.migrate import migrate
from tests.integration.interleaving.harness import Lab

DEADLOCK_TIMEOUT = "100ms"


@pytest.fixture(scope="session")
def lab_url(pg_engine: sa.Engine, postgres_url: str) -> Iterator[str]:
    """The URL of a migrated schema of the lab's own (dropped at the end)."""
    schema = f"bw_interleave_{uuid.uuid4().hex[:12]}"
    with pg_engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    options = f"-csearch_path={schema} -cdeadlock_timeout={DEADLOCK_TIMEOUT}"
    url = sa.make_url(postgres_url).update_query_dict({"options": options})
    rendered = url.render_as_string(hide_password=False)
    migrate(rendered)
    yield rendered
    with pg_engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(scope="session")
def lab_engine(lab_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(lab_url)
    yield engine
    engine.dispose()


@pytest.fixture
def lab(
    lab_url: str, lab_engine: sa.Engine, redis_url: str, redis_client: redis.Redis
) -> Iterator[Lab]:
    laboratory = Lab(lab_url, lab_engine, redis_url, redis_client)
    yield laboratory
    laboratory.close()
