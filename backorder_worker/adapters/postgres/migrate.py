"""Creating and upgrading the schema (the ``migrate`` command), safe to run at any time.

Every replica may call ``migrate`` at start-up: the upgrade runs in one transaction that
first takes a Postgres advisory lock (one per schema), so concurrent callers queue up and
the later ones find the schema at head and do nothing. Postgres DDL is transactional, so a
failed upgrade leaves the schema as it was.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from backorder_worker.adapters.postgres.engine import make_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_LOCK_NAMESPACE = "backorder-worker/migrate/"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """A config without an ini file: the script location is this package's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(database_url: str) -> None:
    """Upgrades the schema (the first in the search path) to the newest revision."""
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with engine.begin() as connection:
            key = sa.func.hashtextextended(
                sa.literal(_LOCK_NAMESPACE) + sa.func.current_schema(), 0
            )
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
            command.upgrade(alembic_config(connection), "head")
    finally:
        engine.dispose()


def current_revision(database_url: str) -> str | None:
    """The revision the schema is at; None for a database never migrated."""
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest revision this code knows (``current_revision`` equals it when up to date)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_behind(revision: str | None) -> bool:
    """True when a schema at `revision` needs `migrate` before this code can use it: never
    migrated, or at an older revision this code knows. A revision this code does not know is
    newer (migrated for a later version during a rollout): not behind."""
    if revision is None:
        return True
    script = ScriptDirectory.from_config(alembic_config())
    known = {entry.revision for entry in script.walk_revisions()}
    return revision in known and revision != script.get_current_head()


def schema_is_current(engine: sa.Engine, head: str | None) -> tuple[bool, str]:
    """Whether the schema is at `head` (from `head_revision()`, read once by the caller), with
    what an operator should do when it is not. One short query: cheap enough for a probe.
    An unreachable database raises (the caller's probe reports the exception's type)."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current == head:
        return True, f"schema at revision {head}"
    if current is None:
        return False, f"the database has no schema (this version needs {head}): run migrate"
    return False, (
        f"schema at revision {current}, this version needs {head}: run migrate "
        "(or roll the worker back if the schema is newer)"
    )
