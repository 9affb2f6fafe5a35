"""An isolated world for one end-to-end test: its own database, topics and consumer group,
the worker as a real process, inputs from an independent Kafka client (confluent-kafka),
outputs read back from the broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from confluent_kafka import Producer

from backorder_worker.adapters.kafka.admin import ensure_topics
from backorder_worker.adapters.kafka.reader import TopicReader
from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.adapters.postgres.migrate import migrate
from backorder_worker.settings import (
    DatabaseSettings,
    KafkaSettings,
    RedisSettings,
    Settings,
    TopicsSettings,
)
from backorder_worker.wire.input_events import build_event, key_for, topic_for
from tests.kafka_settings import FAST_GROUP_SETTINGS

Event = tuple[str, dict[str, Any]]


def create_database(server_url: str, name: str) -> str:
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@dataclass
class World:
    settings: Settings
    env: dict[str, str]
    engine: sa.Engine
    logs: Path
    workers: list[WorkerProcess] = field(default_factory=list)

    @classmethod
    def create(
        cls, postgres_url: str, redis_url: str, bootstrap: str, tag: str, logs: Path
    ) -> World:
        database = create_database(postgres_url, f"e2e_{tag}")
        migrate(database)
        topics = TopicsSettings(**{name: f"{tag}-{name}" for name in TopicsSettings.model_fields})
        settings = Settings(
            kafka=KafkaSettings(
                bootstrap_servers=bootstrap, group_id=f"{tag}-group", **FAST_GROUP_SETTINGS
            ),
            topics=topics,
            database=DatabaseSettings(url=database),
            redis=RedisSettings(url=redis_url),
        )
        ensure_topics(
            bootstrap, settings.kafka, [getattr(topics, n) for n in TopicsSettings.model_fields]
        )
        env = {
            **os.environ,
            "BACKORDER_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "BACKORDER_KAFKA__GROUP_ID": settings.kafka.group_id,
            "BACKORDER_KAFKA__SESSION_TIMEOUT_MS": str(FAST_GROUP_SETTINGS["session_timeout_ms"]),
            "BACKORDER_KAFKA__HEARTBEAT_INTERVAL_MS": str(
                FAST_GROUP_SETTINGS["heartbeat_interval_ms"]
            ),
            "BACKORDER_DATABASE__URL": database,
            "BACKORDER_REDIS__URL": redis_url,
            **{
                f"BACKORDER_TOPICS__{n.upper()}": getattr(topics, n)
                for n in TopicsSettings.model_fields
            },
        }
        return cls(settings, env, sa.create_engine(database), logs)

    def start_worker(self, args: Sequence[str] = (), **env: str) -> WorkerProcess:
        """A worker process; `args` are extra options of `run` (e.g. `--http-port N`), `env`
        extra variables (e.g. `BACKORDER_KAFKA__MAX_POLL_RECORDS="10"`)."""
        worker = WorkerProcess.start(
            {**self.env, **env}, self.logs / f"worker-{len(self.workers)}.log", args
        )
        self.workers.append(worker)
        return worker

    def close(self) -> None:
        for worker in self.workers:
            worker.kill()
        self.engine.dispose()

    def publish(
        self, events: Iterable[Event], *, event_ids: Iterable[str] | None = None
    ) -> list[str]:
        producer = Producer({"bootstrap.servers": self.settings.kafka.bootstrap_servers})
        ids = iter(event_ids) if event_ids is not None else None
        sent = []
        for event_type, data in events:
            event_id, value = build_event(event_type, data, event_id=next(ids) if ids else None)
            topic = topic_for(event_type, self.settings)
            producer.produce(topic, value=value, key=key_for(event_type, data))
            sent.append(event_id)
        assert producer.flush(10) == 0
        return sent

    def publish_raw(self, topic: str, key: bytes | None, value: bytes) -> None:
        producer = Producer({"bootstrap.servers": self.settings.kafka.bootstrap_servers})
        producer.produce(topic, value=value, key=key)
        assert producer.flush(10) == 0

    def sql(self, query: str, **params: Any) -> list[sa.Row[Any]]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(query), params))

    def wait_applied(self, ids: list[str], timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            done = self.sql("select count(*) from inbox where event_id = any(:ids)", ids=ids)[0][0]
            if done == len(ids):
                return
            time.sleep(0.2)
        raise AssertionError(f"{done} of {len(ids)} events applied after {timeout_s} s")

    def wait_outbox_drained(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.sql("select count(*) from outbox where published_at is null")[0][0] == 0:
                return
            time.sleep(0.2)
        raise AssertionError("outbox rows left unpublished")

    def read(self, *topic_names: str, idle_s: float = 1.5) -> list[SourceRecord]:
        topics = [getattr(self.settings.topics, name) for name in topic_names]
        reader = TopicReader(self.settings.kafka, topics)
        records: list[SourceRecord] = []
        idle_since = time.monotonic()
        try:
            while time.monotonic() - idle_since < idle_s:
                batch = reader.poll(300)
                if batch:
                    records += batch
                    idle_since = time.monotonic()
        finally:
            reader.close()
        return records

    def outputs(self, *topic_names: str) -> list[dict[str, Any]]:
        return [json.loads(r.value or b"null") for r in self.read(*topic_names)]


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, env: dict[str, str], log: Path, args: Sequence[str] = ()) -> WorkerProcess:
        handle = log.open("ab")
        process = subprocess.Popen(
            # click keeps the last value of an option given twice: `args` may override these.
            [sys.executable, "-m", "backorder_worker", "run", "--http-port", "0", *args],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        return cls(process, log)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(30)

    def terminate(self, timeout_s: float = 30.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout_s)

    def send(self, sig: int) -> None:
        """Sends `sig` and returns at once (SIGSTOP, SIGCONT, a SIGTERM to watch)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def is_alive(self) -> bool:
        return self.process.poll() is None

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON lines of the worker's log so far (anything else, e.g. a traceback, is
        skipped)."""
        return log_records(self.log)

    def http_port(self, timeout_s: float = 30.0) -> int:
        """The port of /metrics, /healthz and /readyz, from the `worker started` log line."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for record in self.log_records():
                if record.get("msg") == "worker started":
                    return int(record["http_port"])
            if not self.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no `worker started` line in {self.log}")

    def http_get(self, path: str) -> tuple[int, str]:
        """Status and body of a GET on the worker's HTTP port; (0, reason) if it is down."""
        url = f"http://127.0.0.1:{self.http_port()}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode()
        except OSError as error:
            return 0, repr(error)

    def metric(self, name: str, **labels: str) -> float:
        """The sum of the samples of `name` from /metrics whose labels include `labels`."""
        from prometheus_client.parser import text_string_to_metric_families

        status, body = self.http_get("/metrics")
        assert status == 200, body
        return sum(
            sample.value
            for family in text_string_to_metric_families(body)
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )

    def is_ready(self) -> bool:
        return self.is_alive() and self.http_get("/readyz")[0] == 200


def new_tag() -> str:
    return uuid.uuid4().hex[:10]


def log_records(path: Path) -> list[dict[str, Any]]:
    """The JSON log lines of a file written by the worker; other lines are skipped."""
    records = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return records
