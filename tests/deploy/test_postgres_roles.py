"""deploy/postgres/init.sql on a real PostgreSQL: `migrate` as the owner creates the schema,
and the worker's role can read and write every table but change none.

Runs init.sql with psql (15 or newer, for \\getenv) as the test database's superuser, in a
database of its own that is dropped afterwards, and removes the two roles it created. Roles
are cluster-wide: if they exist already (a developer's own set-up), the test leaves them
alone and skips.
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from tests.deploy.support import INIT_SQL, require_tool

ROLES = ("backorder_owner", "backorder_worker")
PASSWORDS = {"DB_OWNER_PASSWORD": "owner-test-secret", "DB_WORKER_PASSWORD": "worker-test-secret"}
DML = ("SELECT", "INSERT", "UPDATE", "DELETE")
NOT_GRANTED = ("TRUNCATE", "REFERENCES", "TRIGGER")


def libpq(url: URL) -> str:
    """The URL for psql: libpq knows no `+psycopg` driver suffix."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def run_init_sql(url: URL, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    psql = require_tool("psql", "the PostgreSQL client (psql 15+)")
    return subprocess.run(
        [psql, "--no-psqlrc", "--quiet", "--dbname", libpq(url), "--file", str(INIT_SQL)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", ""), **environment},
    )


@pytest.fixture(scope="module")
def scratch_database(postgres_url: str) -> Iterator[URL]:
    """A new, empty database on the test server (as init.sql expects), and no roles yet."""
    admin_url = make_url(postgres_url)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"bw_deploy_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        superuser = conn.execute(
            sa.text("select rolsuper from pg_roles where rolname = current_user")
        ).scalar_one()
        existing = conn.execute(
            sa.text("select rolname from pg_roles where rolname = any(:roles)"),
            {"roles": list(ROLES)},
        ).all()
    if not superuser or existing:
        admin.dispose()
        if not superuser:
            pytest.skip("the test database's user cannot create roles")
        pytest.skip(f"roles {ROLES} exist on this server already; not touching them")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'create database "{name}"'))
        yield admin_url.set(database=name)
    finally:  # only what this fixture created: the roles did not exist before
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
            for role in ROLES:
                conn.execute(sa.text(f'drop role if exists "{role}"'))
        admin.dispose()


@pytest.fixture(scope="module")
def initialised(scratch_database: URL) -> URL:
    result = run_init_sql(scratch_database, PASSWORDS)
    assert result.returncode == 0, result.stderr
    return scratch_database


def as_role(url: URL, role: str, password_variable: str) -> URL:
    return url.set(username=role, password=PASSWORDS[password_variable])


def migrate_as_owner(url: URL) -> subprocess.CompletedProcess[str]:
    """`backorder-worker migrate`, the command of the compose service and the Job."""
    owner = as_role(url, "backorder_owner", "DB_OWNER_PASSWORD")
    return subprocess.run(
        [str(Path(sys.executable).with_name("backorder-worker")), "--text-logs", "migrate"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": os.environ.get("PATH", ""),
            "BACKORDER_DATABASE__URL": owner.render_as_string(hide_password=False),
        },
    )


@pytest.fixture(scope="module")
def migrated(initialised: URL) -> URL:
    result = migrate_as_owner(initialised)
    assert result.returncode == 0, result.stdout + result.stderr
    return initialised


@pytest.fixture(scope="module")
def worker_engine(migrated: URL) -> Iterator[sa.Engine]:
    engine = sa.create_engine(as_role(migrated, "backorder_worker", "DB_WORKER_PASSWORD"))
    yield engine
    engine.dispose()


def test_init_sql_refuses_to_run_without_the_passwords(scratch_database: URL) -> None:
    result = run_init_sql(scratch_database, {"DB_OWNER_PASSWORD": "only-this-one"})

    assert result.returncode != 0
    assert "DB_WORKER_PASSWORD is not set" in result.stderr


def test_init_sql_can_run_again(migrated: URL) -> None:
    result = run_init_sql(migrated, PASSWORDS)

    assert result.returncode == 0, result.stderr


def test_migrate_as_the_owner_creates_the_schema_in_the_backorder_schema(migrated: URL) -> None:
    owner = sa.create_engine(as_role(migrated, "backorder_owner", "DB_OWNER_PASSWORD"))
    try:
        with owner.connect() as conn:
            tables = conn.execute(
                sa.text(
                    "select tablename, tableowner from pg_tables where schemaname = 'backorder'"
                )
            ).all()
            in_public = conn.execute(
                sa.text("select count(*) from pg_tables where schemaname = 'public'")
            ).scalar_one()
    finally:
        owner.dispose()

    assert {"inbox", "outbox", "alembic_version"} <= {name for name, _ in tables}
    assert {owner for _, owner in tables} == {"backorder_owner"}
    assert in_public == 0
    assert migrate_as_owner(migrated).returncode == 0, "migrate is idempotent"


def test_the_worker_role_may_read_and_write_every_table_and_use_every_sequence(
    worker_engine: sa.Engine,
) -> None:
    with worker_engine.connect() as conn:
        assert conn.execute(sa.text("select current_schema()")).scalar_one() == "backorder"
        tables = conn.execute(
            sa.text("select tablename from pg_tables where schemaname = 'backorder'")
        ).scalars()
        for table in tables:
            for privilege in DML:
                assert conn.execute(
                    sa.text("select has_table_privilege(:table, :privilege)"),
                    {"table": f"backorder.{table}", "privilege": privilege},
                ).scalar_one(), f"{privilege} on {table}"
            for privilege in NOT_GRANTED:
                assert not conn.execute(
                    sa.text("select has_table_privilege(:table, :privilege)"),
                    {"table": f"backorder.{table}", "privilege": privilege},
                ).scalar_one(), f"{privilege} on {table}"
        sequences = conn.execute(
            sa.text("select sequencename from pg_sequences where schemaname = 'backorder'")
        ).scalars()
        for sequence in sequences:
            assert conn.execute(
                sa.text("select has_sequence_privilege(:sequence, 'USAGE')"),
                {"sequence": f"backorder.{sequence}"},
            ).scalar_one()
        conn.execute(sa.text("select count(*) from inbox")).scalar_one()


@pytest.mark.parametrize(
    "statement",
    [
        "create table backorder.intruder (id int)",
        "create table public.intruder (id int)",
        "alter table outbox add column intruder int",
        "drop table inbox",
        "truncate outbox",
        "create temporary table intruder (id int)",
    ],
)
def test_the_worker_role_cannot_change_the_schema(worker_engine: sa.Engine, statement: str) -> None:
    with worker_engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError) as raised:
        conn.execute(sa.text(statement))

    assert "permission denied" in str(raised.value) or "must be owner" in str(raised.value)
