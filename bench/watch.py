"""Watching a run from outside: released events on the topic, and the workers' progress.

``ReleasedReader`` reads ``shipment-released`` with confluent-kafka (an independent client,
outside the worker's group, short fetch waits) on a thread and notes, per record, when the
harness received it, the record's timestamp (set by the worker's producer when it sent the
event), the CloudEvents ``time`` (when the worker decided) and the trigger's id. Tansu's
end offsets are unreliable (DEVSTACK.md), so it reads every partition from the beginning
and callers select by trigger id. Delivery is at least once (the sweeper may republish a
row the fast path is still publishing): a shipment counts once, at its first arrival.

``Sampler`` polls each worker's /metrics (applied events) and RSS every ``interval_s``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from bench.stack import PARTITIONS, WorkerProcess


@dataclass(frozen=True, slots=True)
class Seen:
    received_s: float  # time.time() when the harness got it
    produced_s: float  # the record timestamp: the worker's producer sent it
    decided_s: float  # the CloudEvents time: the worker decided
    trigger_id: str
    shipment_id: str


class ReleasedReader:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"bench-reader-{topic}",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
                "fetch.min.bytes": 1,
            }
        )
        self._consumer.assign(
            [TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)]
        )
        self._by_trigger: dict[str, dict[str, Seen]] = defaultdict(dict)
        self.duplicates = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="released-reader", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            # ``consume(n, timeout)`` waits for n messages or the timeout, whichever is first:
            # it would add up to its timeout to every figure. Wait for one, then drain.
            head = self._consumer.poll(0.05)
            if head is None:
                continue
            for message in [head, *self._consumer.consume(num_messages=1000, timeout=0)]:
                if message.error() is not None:
                    continue
                received = time.time()
                event = json.loads(message.value())
                _, timestamp_ms = message.timestamp()
                seen = Seen(
                    received,
                    timestamp_ms / 1000,
                    datetime.fromisoformat(event["time"]).timestamp(),
                    event["data"]["trigger"]["id"],
                    event["data"]["shipment_id"],
                )
                with self._lock:
                    first = self._by_trigger[seen.trigger_id].setdefault(seen.shipment_id, seen)
                    self.duplicates += first is not seen

    def seen(self, trigger_id: str) -> list[Seen]:
        with self._lock:
            return list(self._by_trigger.get(trigger_id, {}).values())

    def count(self, trigger_ids: set[str]) -> int:
        with self._lock:
            return sum(len(self._by_trigger.get(t, ())) for t in trigger_ids)

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        self._consumer.close()


@dataclass
class Sampler:
    """Samples (t, events applied by all workers, RSS of each) on a thread."""

    workers: list[WorkerProcess]
    interval_s: float = 0.1
    started_s: float = field(default_factory=time.time)
    samples: list[tuple[float, float, list[int]]] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Sampler:
        self._thread = threading.Thread(target=self._loop, name="sampler", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        last = [0.0] * len(self.workers)  # a worker that died keeps what it had applied
        while not self._stopping.is_set():
            for i, worker in enumerate(self.workers):
                last[i] = max(last[i], worker.metric("backorder_events_total"))
            rss = [w.rss_bytes() for w in self.workers]
            self.samples.append((time.time(), sum(last), rss))
            self._stopping.wait(self.interval_s)

    def applied(self) -> float:
        return self.samples[-1][1] if self.samples else 0.0

    def last_progress_s(self) -> float:
        """When the applied count last changed (the start, before any change)."""
        samples = list(self.samples)
        for i in range(len(samples) - 1, 0, -1):
            if samples[i][1] != samples[i - 1][1]:
                return samples[i][0]
        return self.started_s

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)

    def max_rss_bytes(self) -> int:
        return max((max(rss, default=0) for _, _, rss in self.samples), default=0)
