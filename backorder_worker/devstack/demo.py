"""The demo (`backorder-worker demo`, `make run`): an embedded stack, the worker, and the
seed examples played through Kafka, with every decision printed as it comes out of the
output topics. Its clients come from `bootstrap`, as the worker's do; the worker itself is
built by the ``build_worker`` the `demo` command hands in, so that this package needs no
entry point (the command is one)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import text

from backorder_worker.adapters.kafka.admin import ensure_topics
from backorder_worker.adapters.kafka.reader import TopicReader
from backorder_worker.adapters.postgres.migrate import migrate
from backorder_worker.bootstrap import (
    Services,
    build_publisher,
    build_reader,
    build_services,
    input_topics,
)
from backorder_worker.devstack.demo_scenarios import Event, Scenario, catalog_events, scenarios
from backorder_worker.devstack.embedded_stack import EmbeddedStack
from backorder_worker.settings import DatabaseSettings, KafkaSettings, RedisSettings, Settings
from backorder_worker.wire.input_events import build_event, key_for, topic_for


class _Loop(Protocol):
    def run(self) -> None: ...
    def stop(self) -> None: ...


class _Sweeper(Protocol):
    def start(self) -> object: ...


class RunningWorker(Protocol):
    """The worker as the demo drives it: its loop, its sweeper, and what closes them."""

    @property
    def worker(self) -> _Loop: ...
    @property
    def sweeper(self) -> _Sweeper: ...
    def close(self) -> None: ...


class BuildWorker(Protocol):
    def __call__(self, services: Services, *, sweep_interval_s: float) -> RunningWorker: ...


def run_demo(build_worker: BuildWorker, keep_running: bool = False) -> int:
    print("Starting an embedded stack (Postgres, Redis, a Kafka-protocol broker)...", flush=True)
    with EmbeddedStack() as stack:
        settings = Settings(
            kafka=KafkaSettings(
                bootstrap_servers=stack.bootstrap_servers,
                group_id="backorder-demo",
                session_timeout_ms=2000,  # the broker holds joins for half of it (DEVSTACK)
                heartbeat_interval_ms=500,
            ),
            database=DatabaseSettings(url=stack.database_url),
            redis=RedisSettings(url=stack.redis_url),
        )
        outputs = [settings.topics.shipment_released, settings.topics.still_unroutable]
        ensure_topics(
            stack.bootstrap_servers,
            settings.kafka,
            input_topics(settings) + outputs + [settings.topics.dead_letter],
        )
        migrate(settings.database.url)
        services = build_services(settings)
        running = build_worker(services, sweep_interval_s=0.5)
        thread = threading.Thread(target=running.worker.run, name="worker", daemon=True)
        thread.start()
        running.sweeper.start()
        player = _Player(settings, services.engine, build_reader(settings, outputs))
        try:
            print(
                "Worker running. Publishing the catalog: locations A and B, listings BACKORDER.\n"
            )
            player.play_all(catalog_events())
            failures = sum(not player.play(s) for s in scenarios(datetime.now(UTC).date()))
            print(f"\n{6 - failures} of 6 seed examples behaved as the seed describes.")
            if keep_running:
                print("The worker keeps running; Ctrl-C stops it.")
                thread.join()
        except KeyboardInterrupt:
            failures = 0
        finally:
            running.worker.stop()
            thread.join(timeout=30)
            player.close()
            running.close()
            services.close()
    print("Embedded stack stopped.")
    return 1 if failures else 0


class _Player:
    def __init__(self, settings: Settings, engine: Any, reader: TopicReader) -> None:
        self.settings, self.engine, self.reader = settings, engine, reader
        self.publisher = build_publisher(settings, "backorder-demo")

    def close(self) -> None:
        self.reader.close()
        self.publisher.close()

    def play_all(self, events: list[Event]) -> None:
        ids = [self._send(event) for event in events]
        self._wait_applied(ids)

    def play(self, scenario: Scenario) -> bool:
        print(f"── {scenario.number}. {scenario.title}   (seed: {scenario.expect})")
        released = False
        for event in (scenario.shipment, *scenario.inventory):
            print(f"  → {_describe_input(event)}")
            event_id = self._send(event)
            self._wait_applied([event_id])
            for output in self._outputs_for(event_id):
                print(f"  ← {_describe_output(output)}")
                released |= output["type"] == "shipment.released"
        ok = released == (scenario.expect == "released")
        print(f"  {'✓' if ok else '✗'} {'released' if released else 'still in backorder'}\n")
        return ok

    def _send(self, event: Event) -> str:
        event_type, data = event
        event_id, value = build_event(event_type, data, source="backorder-demo")
        self.publisher.send_raw(
            topic_for(event_type, self.settings), key_for(event_type, data), value, ()
        )
        return event_id

    def _wait_applied(self, ids: list[str], timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        query = text("select count(*) from inbox where event_id = any(:ids)")
        while time.monotonic() < deadline:
            with self.engine.connect() as conn:
                if conn.execute(query, {"ids": ids}).scalar_one() == len(ids):
                    return
            time.sleep(0.1)
        raise TimeoutError(f"the worker did not apply {len(ids)} events in {timeout_s} s")

    def _outputs_for(self, event_id: str, wait_s: float = 5.0) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            for record in self.reader.poll(200):
                event = json.loads(record.value or b"{}")
                if event.get("data", {}).get("trigger", {}).get("id") == event_id:
                    found.append(event)
            if found and time.monotonic() > deadline - wait_s + 1.0:
                break
        return found


def _describe_input(event: Event) -> str:
    kind, d = event
    if kind == "shipment.created":
        lines = ", ".join(f"{ln['sku']} x{ln['quantity']}" for ln in d["lines"])
        return f"shipment.created {d['shipment_id']}: {lines}"
    if kind == "stock.stowed":
        return f"stock.stowed {d['sku']} x{d['quantity']} at {d['location_id']}"
    return f"{kind} {d['sku']} x{d['quantity']} at {d['location_id']} expected {d['expected_date']}"


def _describe_output(event: dict[str, Any]) -> str:
    d = event["data"]
    if event["type"] == "shipment.released":
        parts = "; ".join(
            f"{s['shipment_id']} {s['status']} at {s['location_id']}"
            + (f" on {s['expected_date']}" if s.get("expected_date") else "")
            + " ["
            + ", ".join(f"{ln['sku']} x{ln['quantity']}" for ln in s["lines"])
            + "]"
            for s in d["shipments"]
        )
        head = f"shipment.released {d['shipment_id']} {d['release']}"
        return f"{head}, parent {d['parent_status']}: {parts}"
    why = "; ".join(
        r["detail"] if not r.get("sku") else f"{r['sku']}: {r['detail']}" for r in d["reasons"]
    )
    return f"shipment.unroutable {d['shipment_id']} {d['state']}: {why}"
