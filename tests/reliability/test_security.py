"""Security: secrets stay out of the logs, Kafka security options reach kafka-python, and
the worker runs as a database role that can read and write but not change the schema."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.protocol.sasl import SaslAuthenticateRequest
from pydantic import SecretStr
from sqlalchemy.engine import URL, make_url

from backorder_worker.adapters.kafka.consumer import consumer_config
from backorder_worker.adapters.kafka.producer import producer_config
from backorder_worker.devstack.tansu import free_port
from backorder_worker.observability.logging import configure_logging
from backorder_worker.settings import KafkaSettings, kafka_security_kwargs, load_settings
from tests.e2e.support import WorkerProcess, World
from tests.reliability.checker import check
from tests.reliability.recorder import Recorder
from tests.reliability.scenarios import scenario

DB_SECRET = "pg-S3cret-7f3a"
REDIS_SECRET = "redis-S3cret-91c2"
KAFKA_SECRET = "kafka-S3cret-5e1d"
SSL_SECRET = "ssl-key-S3cret-c0de"
SECURE_KAFKA = KafkaSettings(
    bootstrap_servers="kafka-1:9093",
    security_protocol="SASL_SSL",
    sasl_mechanism="SCRAM-SHA-512",
    sasl_plain_username="backorder-worker",
    sasl_plain_password=SecretStr(KAFKA_SECRET),
    ssl_cafile="/etc/kafka/ca.pem",
    ssl_certfile="/etc/kafka/client.pem",
    ssl_keyfile="/etc/kafka/client.key",
    ssl_password=SecretStr(SSL_SECRET),
)
SECURITY_OPTIONS = {
    "security_protocol": "SASL_SSL",
    "sasl_mechanism": "SCRAM-SHA-512",
    "sasl_plain_username": "backorder-worker",
    "sasl_plain_password": KAFKA_SECRET,
    "ssl_cafile": "/etc/kafka/ca.pem",
    "ssl_certfile": "/etc/kafka/client.pem",
    "ssl_keyfile": "/etc/kafka/client.key",
    "ssl_password": SSL_SECRET,
}


def with_password(url: str, password: str) -> str:
    return make_url(url).set(password=password).render_as_string(hide_password=False)


def start_debug_worker(world: World, **env: str) -> WorkerProcess:
    """`backorder-worker --log-level DEBUG run`: every library's debug lines, where a
    secret would most likely slip out."""
    log = world.logs / f"worker-{len(world.workers)}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "backorder_worker", "--log-level", "DEBUG", "run", "--http-port",
         "0"],
        env={**world.env, **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    worker = WorkerProcess(process, log)
    world.workers.append(worker)
    return worker


def test_database_and_redis_passwords_never_reach_the_logs_or_metrics_of_a_busy_worker(
    world: World,
) -> None:
    recorder = Recorder(world)
    redis_url = world.env["BACKORDER_REDIS__URL"]
    separator = "&" if "?" in redis_url else "?"
    worker = start_debug_worker(
        world,
        BACKORDER_DATABASE__URL=with_password(world.env["BACKORDER_DATABASE__URL"], DB_SECRET),
        # The test's Redis has no password: AUTH fails, and the failure is logged.
        BACKORDER_REDIS__URL=f"{redis_url}{separator}password={REDIS_SECRET}",
    )
    plan = scenario(seed=43, shipments=10, stows=40)
    recorder.set_up(plan.catalog, plan.shipments)
    recorder.publish(plan.stock)
    recorder.publish_raw("stock_stowed", b"{broken", expect="malformed-json")
    check(world, recorder)
    metrics = worker.http_get("/metrics")[1]
    assert worker.terminate() == 0

    log = worker.log.read_text(errors="replace")
    assert '"batch done"' in log and '"level": "DEBUG"' in log, "the log shows too little"
    assert "Redis unavailable" in log, "the Redis password was never used"
    for secret in (DB_SECRET, REDIS_SECRET):
        assert secret not in log
        assert secret not in metrics


def test_a_kafka_password_in_the_config_file_never_reaches_the_logs_when_the_login_fails(
    world: World, tmp_path: Path
) -> None:
    """Tansu speaks no SASL: the worker's start-up check of the broker fails and says so in
    one line, with the database URL carrying a password (Postgres here trusts, so the
    database check passes and the Kafka login is what fails)."""
    config = tmp_path / "backorder.toml"
    config.write_text(
        "[kafka]\n"
        'security_protocol = "SASL_PLAINTEXT"\n'
        'sasl_mechanism = "PLAIN"\n'
        'sasl_plain_username = "backorder-worker"\n'
        f'sasl_plain_password = "{KAFKA_SECRET}"\n'
        "connect_timeout_s = 3\n"
    )
    database = with_password(world.env["BACKORDER_DATABASE__URL"], DB_SECRET)
    worker = start_debug_worker(
        world, BACKORDER_CONFIG=str(config), BACKORDER_DATABASE__URL=database
    )
    assert worker.process.wait(timeout=60) == 1

    log = worker.log.read_text(errors="replace")
    assert "no Kafka broker answered" in log, "the log shows no login attempt"
    assert KAFKA_SECRET not in log
    assert DB_SECRET not in log


def test_a_database_password_never_reaches_the_logs_when_the_database_is_not_there(
    world: World,
) -> None:
    dead_database = f"postgresql://backorder:{DB_SECRET}@127.0.0.1:{free_port()}/backorder"
    worker = start_debug_worker(world, BACKORDER_DATABASE__URL=dead_database)
    assert worker.process.wait(timeout=60) == 1

    log = worker.log.read_text(errors="replace")
    assert "cannot use Postgres" in log, "the log shows no connection attempt"
    assert DB_SECRET not in log


def test_every_kafka_client_of_the_worker_gets_the_security_options_unwrapped() -> None:
    consumer = consumer_config(SECURE_KAFKA)
    producer = producer_config(SECURE_KAFKA)

    assert kafka_security_kwargs(SECURE_KAFKA) == SECURITY_OPTIONS
    assert SECURITY_OPTIONS.items() <= consumer.items()
    assert SECURITY_OPTIONS.items() <= producer.items()
    # kafka-python would reject (or, worse, ignore) an option it does not know.
    for options, client in ((consumer, KafkaConsumer), (producer, KafkaProducer)):
        assert set(options) <= set(client.DEFAULT_CONFIG), client.__name__
    assert set(SECURITY_OPTIONS) <= set(KafkaAdminClient.DEFAULT_CONFIG)


def test_security_options_come_from_the_environment_and_stay_secret_in_repr() -> None:
    settings = load_settings(
        env={
            "BACKORDER_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
            "BACKORDER_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
            "BACKORDER_KAFKA__SASL_PLAIN_USERNAME": "backorder-worker",
            "BACKORDER_KAFKA__SASL_PLAIN_PASSWORD": KAFKA_SECRET,
            "BACKORDER_DATABASE__URL": f"postgresql://backorder:{DB_SECRET}@db/backorder",
            "BACKORDER_REDIS__URL": f"redis://:{REDIS_SECRET}@cache:6379/0",
        }
    )

    assert kafka_security_kwargs(settings.kafka)["sasl_plain_password"] == KAFKA_SECRET
    for shown in (repr(settings), str(settings), repr(settings.database), repr(settings.redis)):
        for secret in (KAFKA_SECRET, DB_SECRET, REDIS_SECRET):
            assert secret not in shown
    # A dump masks the SecretStr fields; the URLs are plain strings (findings in the docs).
    assert KAFKA_SECRET not in settings.model_dump_json()


def test_debug_logs_never_show_a_sasl_plain_password() -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", json=True, stream=stream)
    try:
        # The call kafka-python 3.0 makes (kafka/net/connection.py) when it sends the SASL
        # credentials; for PLAIN they are `\0user\0password`.
        request = SaslAuthenticateRequest(f"\0backorder-worker\0{KAFKA_SECRET}".encode())
        logging.getLogger("kafka.net.connection").debug("%s Request %d: %s", "conn", 2, request)
    finally:
        configure_logging("INFO", json=True)

    assert KAFKA_SECRET not in stream.getvalue()


# --- a least-privilege database role ------------------------------------------------------

ROLES = ("backorder_owner", "backorder_worker")
ROLE_PASSWORDS = {"DB_OWNER_PASSWORD": "owner-S3cret", "DB_WORKER_PASSWORD": "worker-S3cret"}
INIT_SQL = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "init.sql"


@pytest.fixture
def role_database(postgres_url: str) -> Iterator[URL]:
    """A new database set up by deploy/postgres/init.sql: schema `backorder` owned by
    `backorder_owner`, DML only for `backorder_worker`. Roles are cluster-wide: when they
    exist already (someone's own set-up), the test leaves them alone and skips."""
    psql = os.environ.get("PSQL", "psql")
    admin_url = make_url(postgres_url)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"bw_roles_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        superuser = conn.execute(
            sa.text("select rolsuper from pg_roles where rolname = current_user")
        ).scalar_one()
        existing = conn.execute(
            sa.text("select rolname from pg_roles where rolname = any(:roles)"),
            {"roles": list(ROLES)},
        ).all()
    if not superuser or existing or not INIT_SQL.exists():
        admin.dispose()
        pytest.skip(f"cannot create the roles {ROLES} here (exist already, or no superuser)")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'create database "{name}"'))
        url = admin_url.set(database=name)
        subprocess.run(
            [psql, "--no-psqlrc", "--quiet", "--dbname",
             url.set(drivername="postgresql").render_as_string(hide_password=False),
             "--file", str(INIT_SQL)],
            check=True, capture_output=True, text=True, timeout=60,
            env={"PATH": os.environ.get("PATH", ""), **ROLE_PASSWORDS},
        )  # fmt: skip
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
            for role in ROLES:
                conn.execute(sa.text(f'drop role if exists "{role}"'))
        admin.dispose()


def test_the_worker_runs_as_a_role_that_may_write_data_but_not_change_the_schema(
    world: World, role_database: URL
) -> None:
    owner = role_database.set(username="backorder_owner", password="owner-S3cret")
    as_worker = role_database.set(username="backorder_worker", password="worker-S3cret")
    migrated = subprocess.run(
        [sys.executable, "-m", "backorder_worker", "--text-logs", "migrate"],
        env={**world.env, "BACKORDER_DATABASE__URL": owner.render_as_string(hide_password=False)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    # The checker reads as the superuser, in the schema the roles use.
    world.engine.dispose()
    world.engine = sa.create_engine(
        role_database, connect_args={"options": "-csearch_path=backorder"}
    )
    recorder = Recorder(world)
    plan = scenario(seed=47, shipments=15, stows=60)
    worker = world.start_worker(
        BACKORDER_DATABASE__URL=as_worker.render_as_string(hide_password=False)
    )
    recorder.set_up(plan.catalog, plan.shipments)
    recorder.publish(plan.stock)
    verdict = check(world, recorder)

    assert verdict.releases > 0 and worker.is_alive()
    [(user,)] = world.sql(
        "select distinct usename from pg_stat_activity where application_name ="
        " 'backorder-worker' and datname = :db",
        db=role_database.database,
    )
    assert user == "backorder_worker"
    denied = sa.create_engine(as_worker)
    try:
        with denied.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="denied"):
            conn.execute(sa.text("create table backorder.intruder (id int)"))
    finally:
        denied.dispose()
