"""Checks a command makes before it starts work, so that a setup mistake fails at once with
a message instead of at the first batch (`run`) or halfway through."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterable, Iterator

from backorder_worker.adapters.postgres.migrate import current_revision, head_revision, is_behind
from backorder_worker.bootstrap import build_topic_admin
from backorder_worker.entrypoints.cli_errors import CliFailure
from backorder_worker.settings import KafkaSettings

log = logging.getLogger(__name__)

PORT_SETTING = "--http-port, [observability] http_port or BACKORDER_OBSERVABILITY__HTTP_PORT"


def require_free_port(port: int, host: str = "0.0.0.0") -> None:
    """Raises `CliFailure` when the health server could not listen on `port`. The port is
    bound and released at once, as the server binds it (SO_REUSEADDR); a process that takes
    it in between still makes the server fail, with the same message (cli_errors)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise CliFailure(
                f"cannot listen on HTTP port {port}: {error.strerror}; stop the process that"
                f" holds it or choose another port ({PORT_SETTING}; 0: any free port)"
            ) from None


def require_schema(database_url: str) -> None:
    """Raises `CliFailure` when the database's schema is behind this code (never migrated or
    older); Postgres unreachable raises SQLAlchemy's `OperationalError` (cli_errors says it)."""
    revision = current_revision(database_url)
    if is_behind(revision):
        found = "has no worker schema" if revision is None else f"is at revision {revision}"
        raise CliFailure(
            f"the database {found}; this version needs {head_revision()}: run"
            " `backorder-worker migrate` (as the schema owner) first"
        )


def require_kafka(kafka: KafkaSettings, topics: Iterable[str] = ()) -> None:
    """Raises kafka-python's `KafkaTimeoutError` (cli_errors says it in one line) when no
    broker answers within `connect_timeout_s`, without kafka-python's line per attempt; logs
    a warning for each of `topics` that does not exist (a broker may create it on first
    use, else the worker waits for it)."""
    with _kafka_logs_muted(), build_topic_admin(kafka) as admin:
        existing = admin.topic_names()
    missing = [topic for topic in topics if topic not in existing]
    if missing:
        log.warning(
            "missing topics: %s; create them (docs/operations.md, section 1) unless the"
            " brokers create topics on first use",
            ", ".join(missing),
        )


@contextlib.contextmanager
def _kafka_logs_muted() -> Iterator[None]:
    # Called before any Kafka client exists, on the main thread: nothing else logs to
    # "kafka" meanwhile, so raising and restoring its level cannot hide another's lines.
    kafka_log = logging.getLogger("kafka")
    level = kafka_log.level
    kafka_log.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        kafka_log.setLevel(level)
