"""A worker process's HTTP port seen from outside, for the tests of what an operator sees.

`start` runs the real `backorder-worker run` on a port chosen here and returns its
`Endpoint`: GET with the status (0 while nothing listens yet), and `/metrics` parsed into
samples. Also the waits those tests share, the schema's head revision, and the worker's
JSON log lines.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from backorder_worker.adapters.postgres.migrate import head_revision
from backorder_worker.devstack.tansu import free_port
from tests.e2e.support import WorkerProcess, World

Labels = frozenset[tuple[str, str]]


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
