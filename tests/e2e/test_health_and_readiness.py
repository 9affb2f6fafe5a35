"""`/healthz` and `/readyz` of a running worker process with their real meaning: the poll
loop coming round; partitions assigned, Postgres reachable, its schema current.

Each worker is the real `backorder-worker run` process on an HTTP port chosen here
(tests/e2e/worker_http.py). What readiness depends on is taken away for real, not
simulated: a second replica of a group whose only partition the first one holds has
nothing assigned, Postgres is reached through a loopback TCP relay that the test closes
and opens again (tests/e2e/tcp_relay.py), the schema is a database migrated back under a
running worker, and the loop is stalled by a table lock its batch waits for.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.kafka.admin import ensure_topics
from backorder_worker.adapters.postgres.migrate import migrate
from tests.e2e.support import World, create_database, drop_database, new_tag
from tests.e2e.tcp_relay import TcpRelay
from tests.e2e.worker_http import head, json_logs, start, wait_for, wait_ready

INPUT_TOPIC_SETTINGS = ("STOCK_STOWED", "FUTURE_INVENTORY", "SHIPMENTS", "CATALOG")


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
