"""The schema comes from the migrations, matches the tables the code queries, and
``migrate`` may run again, or from two processes at once."""

from __future__ import annotations

import threading
from collections.abc import Callable

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from backorder_worker.adapters.postgres.engine import make_engine
from backorder_worker.adapters.postgres.migrate import current_revision, head_revision, migrate
from backorder_worker.adapters.postgres.tables import metadata


def _differences(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), metadata))
    finally:
        engine.dispose()


def test_a_new_database_has_no_revision_until_migrated(new_schema: Callable[[], str]) -> None:
    url = new_schema()

    assert current_revision(url) is None
    migrate(url)
    assert current_revision(url) == head_revision() is not None


def test_migrating_twice_is_a_no_op_and_the_schema_equals_the_table_metadata(
    new_schema: Callable[[], str],
) -> None:
    url = new_schema()

    migrate(url)
    migrate(url)

    assert current_revision(url) == head_revision()
    assert _differences(url) == []


_CATALOG = sa.text(
    """
    SELECT 'index ' || indexname || ': ' || replace(indexdef, schemaname || '.', '')
    FROM pg_indexes WHERE schemaname = current_schema() AND tablename <> 'alembic_version'
    UNION ALL
    SELECT 'constraint ' || conrelid::regclass || '.' || conname || ': '
           || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
      AND conrelid::regclass::text <> 'alembic_version'
    ORDER BY 1
    """
)


def _catalog(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(_CATALOG).scalars())
    finally:
        engine.dispose()


def test_migrated_indexes_and_constraints_equal_those_the_metadata_creates(
    new_schema: Callable[[], str],
) -> None:
    """What alembic's comparison skips: partial index predicates, sort order, checks."""
    migrated, created = new_schema(), new_schema()
    migrate(migrated)
    engine = make_engine(created)
    with engine.begin() as conn:
        metadata.create_all(conn)
    engine.dispose()

    assert _catalog(migrated) == _catalog(created)
    assert any("WHERE (state = 'WAITING'::text)" in line for line in _catalog(migrated))


def test_two_processes_migrating_at_once_both_succeed(new_schema: Callable[[], str]) -> None:
    url = new_schema()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(url)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert current_revision(url) == head_revision()
    engine = make_engine(url)
    with engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one()
    engine.dispose()
    assert versions == 1
