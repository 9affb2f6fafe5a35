"""What `/healthz` and `/readyz` of `backorder-worker run` answer (observability/http.py).

Liveness ("restart me?"): the poll loop came round recently, or holds no partitions
(`LoopProgress`). Readiness ("send me work?"): the replica holds partitions, Postgres
answers and its schema is the revision this code was written for — a worker on an old
schema would fail every batch, one on an unmigrated database every query.
"""

from __future__ import annotations

from backorder_worker.adapters.kafka.consumer import KafkaSource
from backorder_worker.adapters.postgres.engine import Engine
from backorder_worker.adapters.postgres.migrate import head_revision, schema_is_current
from backorder_worker.observability.progress import LoopProgress


class WorkerProbes:
    def __init__(self, source: KafkaSource, engine: Engine, progress: LoopProgress) -> None:
        self._source, self._engine, self._progress = source, engine, progress
        self._head = head_revision()  # reads the migration scripts: once, not per probe

    def is_live(self) -> tuple[bool, str]:
        return self._progress.is_live()

    def is_ready(self) -> tuple[bool, str]:
        if not self._source.is_ready():
            return False, "no partitions assigned"
        current, why = schema_is_current(self._engine, self._head)
        return (True, "ready") if current else (False, why)
