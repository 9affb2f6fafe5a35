"""`backorder-worker` failures that need a real database: an unmigrated one is named with
the command to run, and a broker that does not answer is reported within
`[kafka] connect_timeout_s` by every command that needs Kafka — one line, exit code 1, no
traceback (tests/unit/test_cli_errors.py has those that need no service)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from backorder_worker.adapters.postgres.migrate import migrate
from tests.e2e.support import create_database, drop_database, new_tag
from tests.unit.test_cli_errors import REFUSED, assert_fails, cli


@pytest.fixture
def empty_database(postgres_url: str) -> Iterator[str]:
    name = f"cli_{new_tag()}"
    yield create_database(postgres_url, name)
    drop_database(postgres_url, name)


@pytest.mark.parametrize(
    "command", [["waiting"], ["waiting", "S-1"], ["run", "--http-port", "0"], ["reevaluate"]]
)
def test_an_unmigrated_database_says_to_run_migrate(
    empty_database: str, command: list[str]
) -> None:
    done = cli(*command, BACKORDER_DATABASE__URL=empty_database)

    assert_fails(done, 1, "no worker schema", "run `backorder-worker migrate`")


@pytest.mark.parametrize(
    "command",
    [
        ["run", "--http-port", "0"],
        ["replay", "--topic", "stock-stowed", "--from-offset", "0"],
        ["reevaluate"],
    ],
)
def test_a_broker_that_does_not_answer_is_reported_within_the_connect_timeout(
    empty_database: str, command: list[str]
) -> None:
    migrate(empty_database)
    started = time.monotonic()
    done = cli(
        *command,
        BACKORDER_DATABASE__URL=empty_database,
        BACKORDER_KAFKA__BOOTSTRAP_SERVERS=REFUSED,
        BACKORDER_KAFKA__CONNECT_TIMEOUT_S="2",
    )

    assert_fails(done, 1, f"no Kafka broker answered at {REFUSED} within 2 s")
    assert time.monotonic() - started < 15  # kafka-python's own bootstrap timeout is 30 s
