"""What the tests send: every input record with where it landed and what should become of it.

`Recorder` publishes through confluent-kafka (a client independent of the worker's), waits
for each delivery report and keeps a `Sent` per record: topic, partition and offset, the
event id and data, and the expected fate — applied (its id in the inbox with this content's
digest) or dead-lettered with a given `error.type`. The checker holds the worker to it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from confluent_kafka import Producer

from backorder_worker.wire.input_events import build_event, key_for, topic_for
from tests.e2e.support import Event, World

APPLIED = "applied"  # the expected fate of a valid event: its id in the inbox, once


@dataclass(frozen=True)
class Sent:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    event_id: str | None
    event_type: str | None
    data: dict[str, Any] | None
    expect: str  # APPLIED, or the `error.type` of its dead letter

    @property
    def position(self) -> tuple[str, int, int]:
        return (self.topic, self.partition, self.offset)


class Recorder:
    """Publishes inputs to a `World`'s topics and remembers them; thread-safe."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.sent: list[Sent] = []
        self._lock = threading.Lock()

    def publish(
        self,
        events: Iterable[Event],
        *,
        event_ids: Iterable[str] | None = None,
        event_time: datetime | None = None,
    ) -> list[str]:
        """Valid events (built and validated like `backorder-worker publish`); their ids."""
        ids = iter(event_ids) if event_ids is not None else None
        batch = []
        for event_type, data in events:
            event_id, value = build_event(
                event_type, data, event_id=next(ids) if ids else None, time=event_time
            )
            topic = topic_for(event_type, self.world.settings)
            batch.append((topic, key_for(event_type, data), value, event_id, event_type, data))
        self._send(batch, APPLIED)
        return [item[3] for item in batch]

    def set_up(self, catalog: Sequence[Event], shipments: Sequence[Event]) -> None:
        """The catalog, applied, then the shipments, applied. Published together they race
        across topics, and a shipment decided before its SKUs' listings is UNROUTABLE: the
        world would then release nothing."""
        self.world.wait_applied(self.publish(catalog))
        self.world.wait_applied(self.publish(shipments))

    def publish_raw(
        self,
        topic_name: str,
        value: bytes,
        *,
        expect: str,
        key: bytes | None = b"bad",
        event_id: str | None = None,
    ) -> Sent:
        """Any bytes to the topic named `topic_name` in the settings (e.g. `stock_stowed`);
        `expect` is the `error.type` of the dead letter it must become (or APPLIED)."""
        topic = getattr(self.world.settings.topics, topic_name)
        data = None
        if event_id is not None:
            data = json.loads(value).get("data")
        [sent] = self._send([(topic, key, value, event_id, None, data)], expect)
        return sent

    def publish_slowly(
        self, events: Sequence[Event], *, chunk: int = 10, pause_s: float = 0.05
    ) -> list[str]:
        """`events` in chunks with a pause between them: load spread over time."""
        ids: list[str] = []
        for start in range(0, len(events), chunk):
            ids += self.publish(events[start : start + chunk])
            time.sleep(pause_s)
        return ids

    @contextmanager
    def publishing_in_background(
        self, events: Sequence[Event], *, chunk: int = 10, pause_s: float = 0.05
    ) -> Iterator[threading.Thread]:
        """Publishes `events` slowly from a thread while the block runs (a fault under load);
        waits for the last one on leaving the block and re-raises its failure."""
        failures: list[BaseException] = []

        def run() -> None:
            try:
                self.publish_slowly(events, chunk=chunk, pause_s=pause_s)
            except BaseException as error:  # surfaced on the test's thread below
                failures.append(error)

        thread = threading.Thread(target=run, name="feeder", daemon=True)
        thread.start()
        try:
            yield thread
        finally:
            thread.join(120)
        if failures:
            raise failures[0]

    def ids(self, event_type: str | None = None) -> list[str]:
        return [
            s.event_id
            for s in self.sent
            if s.event_id is not None
            and s.expect == APPLIED
            and (event_type is None or s.event_type == event_type)
        ]

    def of_type(self, event_type: str) -> list[Sent]:
        return [s for s in self.sent if s.event_type == event_type and s.expect == APPLIED]

    @property
    def input_topics(self) -> list[str]:
        t = self.world.settings.topics
        return [t.stock_stowed, t.future_inventory, t.shipments, t.catalog]

    def _send(
        self,
        batch: Sequence[tuple[str, bytes | None, bytes, str | None, str | None, Any]],
        expect: str,
    ) -> list[Sent]:
        producer = Producer(
            {
                "bootstrap.servers": self.world.settings.kafka.bootstrap_servers,
                "linger.ms": 5,
                # Room for the oversized-message test: Tansu ignores max message sizes, so
                # the worker's own limit (1 MiB) is what is tested, not the client's.
                "message.max.bytes": 4_000_000,
            }
        )
        delivered: dict[int, tuple[int, int]] = {}
        errors: list[str] = []

        def report(index: int) -> Any:
            def on_delivery(error: Any, message: Any) -> None:
                if error is not None:
                    errors.append(str(error))
                else:
                    delivered[index] = (message.partition(), message.offset())

            return on_delivery

        for index, (topic, key, value, *_) in enumerate(batch):
            producer.produce(topic, value=value, key=key, on_delivery=report(index))
            producer.poll(0)
        assert producer.flush(30) == 0, "records not delivered within 30 s"
        assert not errors, errors
        sent = [
            Sent(topic, *delivered[index], key, value, event_id, event_type, data, expect)
            for index, (topic, key, value, event_id, event_type, data) in enumerate(batch)
        ]
        with self._lock:
            self.sent += sent
        return sent
