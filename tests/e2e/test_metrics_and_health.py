"""What an operator sees of a running worker process: `/metrics` counters that move with
the events it handles, `/healthz` and `/readyz` with their real meaning (the poll loop
coming round; partitions assigned, Postgres reachable, its schema current), and JSON log
lines that say which record they are about.

Each worker is the real `backorder-worker run` process on an HTTP port chosen here. What
readiness depends on is taken away for real, not simulated: a second replica of a group
whose only partition the first one holds has nothing assigned, Postgres is reached
through a loopback TCP relay that the test closes and opens again, the schema is a
database never migrated, and the loop is stalled by a table lock its batch waits for.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from backorder_worker.adapters.kafka.admin import ensure_topics
from backorder_worker.adapters.postgres.migrate import head_revision, migrate
from backorder_worker.bootstrap import input_topics
from backorder_worker.devstack.tansu import free_port
from tests.e2e.support import WorkerProcess, World, create_database, drop_database, new_tag

Labels = frozenset[tuple[str, str]]
INPUT_TOPIC_SETTINGS = ("STOCK_STOWED", "FUTURE_INVENTORY", "SHIPMENTS", "CATALOG")


@dataclass(frozen=True)
class Endpoint:
    """The worker's HTTP port, seen from outside."""

    port: int

    def get(self, path: str) -> tuple[int, str]:
        """Status and body of a GET; status 0 while nothing listens yet."""
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError as error:
            return 0, repr(error)

    def samples(self) -> dict[tuple[str, Labels], float]:
        status, body = self.get("/metrics")
        assert status == 200, body
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(body)
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        """One sample's value; 0 for a labelled series not created yet."""
        return self.samples().get((name, frozenset(labels.items())), 0.0)


def start(world: World, **env: str) -> tuple[WorkerProcess, Endpoint]:
    port = free_port()
    return world.start_worker(["--http-port", str(port)], **env), Endpoint(port)


def wait_for(what: str, check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout_s} s: {what}")


def wait_ready(endpoint: Endpoint) -> None:
    wait_for("/readyz answers 200", lambda: endpoint.get("/readyz")[0] == 200)


def head() -> str:
    revision = head_revision()
    assert revision is not None
    return revision


def json_logs(worker: WorkerProcess) -> list[dict[str, Any]]:
    """The worker's JSON log lines (a library may print a plain line of its own)."""
    lines = worker.log.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_the_counters_move_with_what_the_worker_applies_releases_and_dead_letters(
    world: World,
) -> None:
    _, endpoint = start(world)
    wait_ready(endpoint)
    topics = world.settings.topics
    assert endpoint.get("/healthz") == (200, "ok\n")
    assert endpoint.value("backorder_releases_total", release="CURRENT") == 0

    world.wait_applied(
        world.publish(
            [
                (
                    "location.updated",
                    {"location_id": "A", "active": True, "fulfillment_types": ["STH"]},
                ),
                ("listing.updated", {"sku": "KTP", "out_of_stock_behaviour": "BACKORDER"}),
                (
                    "shipment.created",
                    {
                        "shipment_id": "S-1",
                        "order_id": "O-1",
                        "fulfillment_type": "STH",
                        "lines": [{"line_id": "S-1-1", "sku": "KTP", "quantity": 2}],
                    },
                ),
            ]
        )
    )
    created = {"topic": topics.shipments, "type": "shipment.created", "outcome": "applied"}
    wait_for(
        "shipment.created counted as applied",
        lambda: endpoint.value("backorder_events_total", **created) == 1,
    )
    assert endpoint.value("backorder_unroutable_total", state="WAITING") == 1
    assert endpoint.value("backorder_releases_total", release="CURRENT") == 0

    world.publish([("stock.stowed", {"location_id": "A", "sku": "KTP", "quantity": 2})])
    wait_for(
        "the release counted",
        lambda: endpoint.value("backorder_releases_total", release="CURRENT") == 1,
    )
    stowed = {"topic": topics.stock_stowed, "type": "stock.stowed", "outcome": "applied"}
    assert endpoint.value("backorder_events_total", **stowed) == 1

    world.publish_raw(topics.stock_stowed, b"KTP", b"{not json")
    wait_for(
        "the dead letter counted",
        lambda: endpoint.value("backorder_dead_letters_total", error_type="malformed-json") == 1,
    )
    invalid = {"topic": topics.stock_stowed, "type": "unknown", "outcome": "invalid"}
    assert endpoint.value("backorder_events_total", **invalid) == 1

    wait_for(
        "partitions reported",
        lambda: endpoint.value("backorder_partitions_assigned") > 0,
    )
    samples = endpoint.samples()
    lag = [dict(labels) for name, labels in samples if name == "backorder_consumer_lag"]
    assert len(lag) == samples[("backorder_partitions_assigned", frozenset())]
    assert {series["topic"] for series in lag} <= set(input_topics(world.settings))
    assert samples[("backorder_batch_size_count", frozenset())] >= 3
    assert samples[("backorder_processing_seconds_count", frozenset({("scope", "batch")}))] >= 3
    for gauge in ("waiting_shipments", "oldest_waiting_age_seconds", "outbox_backlog"):
        assert (f"backorder_{gauge}", frozenset()) in samples


def test_the_process_python_and_build_metrics_are_exported(world: World) -> None:
    _, endpoint = start(world)
    wait_ready(endpoint)
    samples = endpoint.samples()
    names = {name for name, _ in samples}

    assert {"process_resident_memory_bytes", "process_cpu_seconds_total"} <= names
    assert {"process_open_fds", "process_start_time_seconds", "python_info"} <= names
    (build,) = [dict(labels) for name, labels in samples if name == "backorder_build_info"]
    assert build["version"] == version("backorder-worker")


def test_healthz_answers_503_while_the_poll_loop_is_stalled_and_200_once_it_moves_again(
    world: World,
) -> None:
    # A 3 s poll interval: the loop counts as stalled after 4.5 s (progress.py).
    _, endpoint = start(world, BACKORDER_KAFKA__MAX_POLL_INTERVAL_MS="3000")
    wait_ready(endpoint)
    assert endpoint.get("/healthz") == (200, "ok\n")

    with world.engine.connect() as blocker:
        # The batch's first statement claims its event ids in the inbox: it waits here.
        blocker.execute(sa.text("LOCK TABLE inbox IN ACCESS EXCLUSIVE MODE"))
        ids = world.publish(
            [("location.updated", {"location_id": "A", "active": True, "fulfillment_types": []})]
        )
        wait_for(
            "/healthz reports the stall",
            lambda: endpoint.get("/healthz")[0] == 503,
        )
        status, body = endpoint.get("/healthz")
        assert status == 503 and body.startswith("poll loop stalled for "), body
        assert "(limit 4 s)" in body or "(limit 5 s)" in body, body
        blocker.rollback()

    world.wait_applied(ids)
    wait_for("/healthz is 200 again", lambda: endpoint.get("/healthz") == (200, "ok\n"))


def test_readyz_answers_503_while_the_schema_is_behind_and_200_once_it_is_current_again(
    world: World,
) -> None:
    """`run` refuses to start on an unmigrated database (tests/e2e/test_cli_errors.py);
    readiness watches the schema of a worker that is running, e.g. one migrated back under
    it during a botched rollout."""
    name = f"e2e_{new_tag()}_behind"
    database = create_database(world.settings.database.url, name)
    try:
        migrate(database)
        _, endpoint = start(world, BACKORDER_DATABASE__URL=database)
        wait_ready(endpoint)
        engine = sa.create_engine(database)
        with engine.begin() as conn:
            conn.execute(sa.text("update alembic_version set version_num = '0001'"))
        behind = f"schema at revision 0001, this version needs {head()}: run migrate"

        def names_the_schema_behind() -> bool:
            status, text = endpoint.get("/readyz")
            return status == 503 and text.startswith(behind)

        wait_for("/readyz names the schema behind", names_the_schema_behind)
        assert endpoint.get("/healthz") == (200, "ok\n")  # alive: a restart would not help
        with engine.begin() as conn:
            conn.execute(sa.text("update alembic_version set version_num = :v"), {"v": head()})
        engine.dispose()
        wait_ready(endpoint)
    finally:
        for worker in world.workers:
            worker.kill()
        drop_database(world.settings.database.url, name)


def test_log_lines_about_a_record_carry_its_event_id_topic_partition_and_offset(
    world: World,
) -> None:
    worker, endpoint = start(world)
    wait_ready(endpoint)
    topic = world.settings.topics.shipments

    world.publish_raw(topic, b"O-9", b"{not json")
    unknown = ("shipment.cancelled", {"shipment_id": "S-9", "order_id": "O-9"})
    world.publish([unknown], event_ids=["cancel-S-9"])
    wait_for(
        "both dead-lettered",
        lambda: (
            sum(
                endpoint.value("backorder_dead_letters_total", error_type=error)
                for error in ("malformed-json", "unknown-shipment")
            )
            == 2
        ),
    )

    by_message = {line["msg"]: line for line in json_logs(worker) if line.get("topic") == topic}
    malformed, rejected = by_message["invalid message"], by_message["event rejected"]
    assert malformed["event_id"] is None  # no id can be read from bytes that are not JSON
    assert (malformed["partition"], malformed["offset"]) == (rejected["partition"], 0)
    assert malformed["error_type"] == "malformed-json"
    assert rejected["event_id"] == "cancel-S-9" and rejected["offset"] == 1
    assert rejected["error_type"] == "unknown-shipment"
    assert all(line["level"] == "WARNING" for line in (malformed, rejected))


def test_readyz_answers_503_while_the_replica_holds_no_partition_and_200_once_it_gets_one(
    world: World,
) -> None:
    # One input topic with one partition: of two replicas in the group, one holds it.
    single = f"{world.settings.kafka.group_id}-single"
    ensure_topics(world.settings.kafka.bootstrap_servers, world.settings.kafka, [single], 1)
    one_partition = {f"BACKORDER_TOPICS__{name}": single for name in INPUT_TOPIC_SETTINGS}
    first, first_endpoint = start(world, **one_partition)
    wait_ready(first_endpoint)

    second, second_endpoint = start(world, **one_partition)
    wait_for("the second replica answers", lambda: second_endpoint.get("/healthz")[0] == 200)
    assert second_endpoint.get("/readyz") == (503, "no partitions assigned\n")
    wait_for(
        "the second replica's rebalance completes",
        lambda: any("rebalance complete" in line["msg"] for line in json_logs(second)),
    )

    assert second_endpoint.get("/readyz") == (503, "no partitions assigned\n")
    assert second_endpoint.get("/healthz") == (200, "ok\n")  # alive, only not ready
    assert first_endpoint.get("/readyz") == (200, "ready\n")
    assert first.terminate() == 0
    wait_ready(second_endpoint)


class TcpRelay:
    """A loopback TCP port that forwards to Postgres until `close()`; `open()` binds the
    same port again. Closing also cuts the connections already made through it."""

    def __init__(self, connect: Callable[[], socket.socket]) -> None:
        self.connect = connect
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        if listener is not None:
            listener.close()
        for sock in sockets:
            _shut(sock)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            try:
                server = self.connect()
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    server.close()
                    return
                self._sockets |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        with contextlib.suppress(OSError):  # cut by close(), or the other side went away
            while chunk := source.recv(65536):
                sink.sendall(chunk)
    finally:
        _shut(source)
        _shut(sink)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already shut, or never connected
        sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def relay(world: World) -> Iterator[TcpRelay]:
    url = sa.make_url(world.settings.database.url)
    socket_dir = url.query.get("host")
    port = url.port or 5432
    if url.host:
        target = (url.host, port)

        def tcp() -> socket.socket:
            sock = socket.create_connection(target, timeout=5)
            sock.settimeout(None)  # an idle pooled connection is not a dead one
            return sock

        made = TcpRelay(tcp)
    else:  # an embedded Postgres on a unix socket
        path = f"{socket_dir}/.s.PGSQL.{port}"

        def unix() -> socket.socket:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
            return sock

        made = TcpRelay(unix)
    made.open()
    yield made
    made.close()


def test_readyz_answers_503_while_postgres_is_unreachable_and_200_once_it_is_back(
    world: World, relay: TcpRelay
) -> None:
    through_relay = (
        sa.make_url(world.settings.database.url)
        .difference_update_query(["host"])
        .set(host="127.0.0.1", port=relay.port)
        .render_as_string(hide_password=False)
    )
    worker, endpoint = start(world, BACKORDER_DATABASE__URL=through_relay)
    wait_ready(endpoint)

    relay.close()
    status, reason = endpoint.get("/readyz")
    assert (status, reason) == (503, "probe failed: OperationalError\n")
    assert endpoint.get("/healthz") == (200, "ok\n")

    relay.open()
    wait_ready(endpoint)
    assert worker.process.poll() is None
