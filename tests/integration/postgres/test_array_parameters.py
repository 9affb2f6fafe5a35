"""Array parameters through the worker's engine (``arrays.JoinedListDumper``) reach
Postgres as the same values as through psycopg's own list dumper."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.adapt import PyFormat

from backorder_worker.adapters.postgres.arrays import JoinedListDumper
from backorder_worker.adapters.postgres.engine import make_engine

ODD_TEXT = ["", "NULL", "null", "NuLl", "a b", " lead", "tab\t", "new\nline", "a,b", "{x}"]
ODD_TEXT += ['q"u', "back\\slash", '\\"', "x'y", "é", "\u3000x", "\u2028", "%s", "%(x)s"]
CASES: list[tuple[str, list[Any]]] = [
    ("text[]", ODD_TEXT),
    ("text[]", [*ODD_TEXT, None]),
    ("text[]", ["SKU-1", "SKU-2"]),
    ("text[]", []),
    ("text[]", [None, None]),
    ("bigint[]", [2**63 - 1, -(2**63), 0, -1]),
    ("bigint[]", [1, None, 3]),
    ("integer[]", [[1, 2], [3, 4]]),
    ("boolean[]", [True, False, None]),
    ("timestamptz[]", [datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), None]),
    ("timestamptz[]", [datetime(2026, 1, 2, tzinfo=timezone(timedelta(hours=5, minutes=30)))]),
    ("timestamp[]", [datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)]),
    ("date[]", [date(2026, 1, 2), None]),  # another kind: psycopg's own dumping
]


@pytest.fixture(scope="module")
def engines(postgres_url: str) -> Iterator[tuple[sa.Engine, sa.Engine]]:
    ours, plain = make_engine(postgres_url), sa.create_engine(postgres_url)
    yield ours, plain
    ours.dispose()
    plain.dispose()


def _as_text(engine: sa.Engine, cast: str, values: list[Any]) -> str | None:
    with engine.connect() as conn:
        return conn.exec_driver_sql(f"SELECT (%(v)s::{cast})::text", {"v": values}).scalar()


def test_the_engine_dumps_lists_with_the_joined_dumper(
    engines: tuple[sa.Engine, sa.Engine],
) -> None:
    with engines[0].connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        assert driver.adapters.get_dumper(list, PyFormat.AUTO) is JoinedListDumper


@pytest.mark.parametrize(("cast", "values"), CASES)
def test_an_array_reaches_postgres_as_psycopg_would_send_it(
    engines: tuple[sa.Engine, sa.Engine], cast: str, values: list[Any]
) -> None:
    ours, plain = engines
    assert _as_text(ours, cast, values) == _as_text(plain, cast, values)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.none() | st.text(st.characters(exclude_characters="\x00"), max_size=6)))
def test_any_text_array_reaches_postgres_unchanged(
    engines: tuple[sa.Engine, sa.Engine], values: list[str | None]
) -> None:
    ours, _ = engines
    with ours.connect() as conn:
        assert conn.exec_driver_sql("SELECT %(v)s::text[]", {"v": values}).scalar() == values


def test_a_nul_in_a_string_is_refused_as_psycopg_refuses_it(
    engines: tuple[sa.Engine, sa.Engine],
) -> None:
    for engine in engines:
        with pytest.raises(sa.exc.DataError), engine.connect() as conn:
            conn.exec_driver_sql("SELECT %(v)s::text[]", {"v": ["a\x00b"]})
