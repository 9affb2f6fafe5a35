"""Postgres adapter fixtures: one migrated schema per session, emptied before each test.

The schema has a unique name and is reached through ``search_path`` (in the URL's
``options``), so these tests share a database with anything else without seeing it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.event_codec import decision_encoder
from backorder_worker.adapters.postgres.engine import make_engine
from backorder_worker.adapters.postgres.migrate import migrate
from backorder_worker.adapters.postgres.outbox import PostgresOutbox
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.adapters.postgres.tables import metadata
from backorder_worker.settings import TopicsSettings

TOPICS = TopicsSettings(
    shipment_released="t-released", still_unroutable="t-unroutable", dead_letter="t-dead"
)


def schema_url(url: str, schema: str) -> str:
    parsed = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def new_schema(pg_engine: sa.Engine, postgres_url: str) -> Iterator[Callable[[], str]]:
    """A factory of empty schemas; returns the URL that works inside one. Dropped at the end."""
    created: list[str] = []

    def make() -> str:
        schema = f"bw_test_{uuid.uuid4().hex[:12]}"
        with pg_engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        created.append(schema)
        return schema_url(postgres_url, schema)

    yield make
    with pg_engine.begin() as conn:
        for schema in created:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(scope="session")
def migrated_url(new_schema: Callable[[], str]) -> str:
    url = new_schema()
    migrate(url)
    return url


@pytest.fixture(scope="session")
def session_engine(migrated_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(migrated_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(session_engine: sa.Engine) -> sa.Engine:
    """The migrated schema's engine, every table emptied first."""
    names = ", ".join(table.name for table in metadata.sorted_tables)
    with session_engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return session_engine


@pytest.fixture
def uow(engine: sa.Engine) -> PostgresUnitOfWork:
    return PostgresUnitOfWork(engine, TOPICS, encode=decision_encoder(TOPICS))


@pytest.fixture
def relay_outbox(engine: sa.Engine) -> PostgresOutbox:
    return PostgresOutbox(engine)
