"""The services a benchmark run needs, and the worker processes it measures.

``BenchStack`` creates a fresh database on the machine's Postgres (``BENCH_DATABASE_URL``,
else the CI default) and migrates it, uses Redis at 127.0.0.1:6379 db 13 (flushed; another
with ``BENCH_REDIS_URL``) or an embedded one when none answers, and starts a Tansu broker
(``TansuBroker``). Topics and the consumer group are unique to the run. It stops
everything it started.

``WorkerProcess`` is ``python -m backorder_worker run`` with the run's settings in its
environment (fast group joins, as the tests use on Tansu), its own metrics port, and its
log in the run's log directory.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis
import sqlalchemy as sa

from backorder_worker.adapters.kafka.admin import ensure_topics
from backorder_worker.adapters.postgres.migrate import migrate
from backorder_worker.devstack.embedded_stack import EmbeddedStack
from backorder_worker.devstack.tansu import TansuBroker, free_port
from backorder_worker.settings import KafkaSettings, TopicsSettings

DEFAULT_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MACHINE_REDIS = "redis://127.0.0.1:6379/13"  # BENCH_REDIS_URL: another (it is flushed)
FAST_GROUP = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 500}  # Tansu joins in ~1 s
PARTITIONS = 4
_METRIC = re.compile(r"^(\w+)(?:\{[^}]*\})? ([0-9.eE+-]+)$")


@dataclass
class BenchStack:
    """The run's database, Redis, broker and workers; ``stop`` undoes all of it."""

    keep_database: bool = False
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    server_url: str = field(
        default_factory=lambda: os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER_URL)
    )
    logs: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="backorder-bench-")))
    database_url: str = ""
    redis_url: str = ""
    bootstrap: str = ""
    topics: TopicsSettings = field(default_factory=TopicsSettings)
    workers: list[WorkerProcess] = field(default_factory=list)
    _started: int = 0
    _groups: int = 0
    _broker: TansuBroker | None = None
    _embedded: EmbeddedStack | None = None

    @property
    def database(self) -> str:
        return f"bench_{self.tag}"

    @property
    def kafka(self) -> KafkaSettings:
        group = f"bench-{self.tag}-g{self._groups}"
        return KafkaSettings(bootstrap_servers=self.bootstrap, group_id=group, **FAST_GROUP)

    def start(self) -> BenchStack:
        self._broker = TansuBroker().start()
        self.bootstrap = self._broker.bootstrap_servers
        self.redis_url = self._redis()
        self.database_url = self._create_database()
        migrate(self.database_url)
        return self

    def _new_group(self) -> None:
        """Fresh topics and a fresh consumer group: after members have left a group, Tansu
        may keep failing the next members' SyncGroup, and fresh topics hold only the
        events of the phase to come."""
        self._groups += 1
        prefix = f"bench-{self.tag}-g{self._groups}"
        self.topics = TopicsSettings(
            **{name: f"{prefix}-{name}" for name in TopicsSettings.model_fields}
        )
        names = [getattr(self.topics, name) for name in TopicsSettings.model_fields]
        ensure_topics(self.bootstrap, self.kafka, names, PARTITIONS)

    def _redis(self) -> str:
        url = os.environ.get("BENCH_REDIS_URL", MACHINE_REDIS)
        try:
            client = redis.Redis.from_url(url, socket_timeout=1)
            client.flushdb()
            client.close()
            return url
        except redis.RedisError:
            self._embedded = EmbeddedStack(postgres=False, kafka=False).start()
            return self._embedded.redis_url

    def _create_database(self) -> str:
        engine = sa.create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.database}"'))
        engine.dispose()
        url = sa.make_url(self.server_url).set(database=self.database)
        return url.render_as_string(hide_password=False)

    def worker_env(
        self, session_timeout_ms: int = FAST_GROUP["session_timeout_ms"]
    ) -> dict[str, str]:
        topics = {
            f"BACKORDER_TOPICS__{name.upper()}": getattr(self.topics, name)
            for name in TopicsSettings.model_fields
        }
        return {
            **os.environ,
            "BACKORDER_KAFKA__BOOTSTRAP_SERVERS": self.bootstrap,
            "BACKORDER_KAFKA__GROUP_ID": self.kafka.group_id,
            "BACKORDER_KAFKA__SESSION_TIMEOUT_MS": str(session_timeout_ms),
            "BACKORDER_KAFKA__HEARTBEAT_INTERVAL_MS": str(session_timeout_ms // 4),
            "BACKORDER_DATABASE__URL": self.database_url,
            "BACKORDER_REDIS__URL": self.redis_url,
            **topics,
        }

    def start_workers(self, count: int, ready_timeout_s: float = 60.0) -> list[WorkerProcess]:
        """Starts ``count`` workers and waits until the group has every partition assigned.

        Tansu holds a join for half the session timeout; members that arrive in different
        windows can keep failing each other's SyncGroup. A window that grows with the number
        of members lets them all join one generation. Each call uses new topics and a new
        group (``topics`` names them): build the phase's events after this call."""
        self._new_group()
        env = self.worker_env(session_timeout_ms=FAST_GROUP["session_timeout_ms"] * count)
        started = []
        for _ in range(count):
            self._started += 1
            started.append(WorkerProcess.start(env, self.logs / f"worker-{self._started}.log"))
        self.workers += started
        wanted = PARTITIONS * 4  # the four input topics
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            assigned = [w.metric("backorder_partitions_assigned") for w in started]
            if all(a > 0 for a in assigned) and sum(assigned) == wanted:
                return started
            for worker in started:
                worker.check_alive()
            time.sleep(0.2)
        raise TimeoutError(f"workers not ready after {ready_timeout_s} s; logs in {self.logs}")

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.terminate()
        self.workers.clear()

    def stop(self) -> None:
        self.stop_workers()
        if self._broker is not None:
            self._broker.stop()
        if self._embedded is not None:
            self._embedded.stop()
        if self.database_url and not self.keep_database:
            engine = sa.create_engine(self.server_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            engine.dispose()


@dataclass
class WorkerProcess:
    """One ``backorder-worker run`` process; its metrics and RSS, read from outside."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @classmethod
    def start(cls, env: dict[str, str], log: Path) -> WorkerProcess:
        port = free_port()
        command = [sys.executable, "-m", "backorder_worker", "run", "--http-port", str(port)]
        with log.open("ab") as handle:
            process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
        return cls(process, port, log)

    @property
    def pid(self) -> int:
        return self.process.pid

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"worker exited with {self.process.returncode}; see {self.log}")

    def metrics(self) -> dict[str, float]:
        """Every series of /metrics, summed by metric name (labels dropped)."""
        url = f"http://127.0.0.1:{self.port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                text = response.read().decode()
        except OSError:
            return {}
        totals: dict[str, float] = {}
        for line in text.splitlines():
            match = _METRIC.match(line)
            if match:
                totals[match[1]] = totals.get(match[1], 0.0) + float(match[2])
        return totals

    def metric(self, name: str) -> float:
        return self.metrics().get(name, 0.0)

    def log_count(self, *texts: str) -> int:
        """Lines of this worker's log that contain every one of ``texts``."""
        with self.log.open(errors="replace") as lines:
            return sum(all(text in line for text in texts) for line in lines)

    def rss_bytes(self) -> int:
        try:
            return int(psutil.Process(self.pid).memory_info().rss)
        except psutil.Error:
            return 0

    def terminate(self, timeout_s: float = 30.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
