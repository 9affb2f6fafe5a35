"""The latency phases: publish → ``shipment.released`` at an outside reader.

Every probe is a stock event that releases exactly one waiting shipment of its own SKU
(``load_probes``). Per probe the reader notes three more times besides the send (see
``watch.Seen``), which split the latency into stages:

- ``to_decision``: send → the worker decided (the CloudEvents ``time``): the input on the
  broker, the worker's fetch and poll, decoding, and the transaction up to the handler;
- ``decision_to_send``: → the worker's producer took the record (its record timestamp):
  the rest of the transaction, its commit, and the outbox fast path up to ``send``;
- ``send_to_reader``: → the reader had it: the producer's linger and flush, the broker,
  and the reader's own fetch wait (10 ms).

``idle``: one probe at a time, the next only once the previous one's release was read and
a random pause of 0.1 to 0.4 s has passed, so the worker is idle when each arrives (and no
timer of the worker's stays in step with the probes). Also the worker's CPU while idle.

``paced``: probes sent at a fixed rate, whatever the worker does with them. At half the
rate of the mix the worker sustained, they saturate it (a release costs several mix
events) and the figure measures a growing queue: ``latency_saturated``. At half the rate
it actually applied releases then (its release capacity), it does not: ``latency_loaded``.
"""

from __future__ import annotations

import random
import time
from typing import Any

import psutil

from bench.events import producer, stow
from bench.generate import load_probes
from bench.room import RoomSpec, location_name
from bench.stack import BenchStack, WorkerProcess
from bench.watch import ReleasedReader, Seen


def idle_cpu(worker: WorkerProcess, seconds: float = 3.0) -> float:
    """The worker's CPU (% of one core) over ``seconds`` in which it is given nothing."""
    process = psutil.Process(worker.pid)
    before, started = process.cpu_times(), time.monotonic()
    time.sleep(seconds)
    after, elapsed = process.cpu_times(), time.monotonic() - started
    used = (after.user - before.user) + (after.system - before.system)
    return round(100 * float(used) / elapsed, 1)


def idle(
    stack: BenchStack,
    spec: RoomSpec,
    reader: ReleasedReader,
    worker: WorkerProcess,
    count: int,
    wait_s: float = 10.0,
    tag: str = "I",
) -> dict[str, Any]:
    """``count`` probes, one at a time, each to an idle worker (see the module docstring).
    The first three warm the path up and are left out of the figures."""
    warm_up = 3
    skus = load_probes(stack.database_url, spec, tag, count + warm_up)
    cpu = idle_cpu(worker)
    client = producer(stack.bootstrap, linger_ms=0)
    rng = random.Random(spec.seed)
    points: list[tuple[float, Seen]] = []
    lost = 0
    for i, sku in enumerate(skus):
        event = stow(sku, 1, location_name(i % spec.locations), stack.topics, f"idle{tag}-{i}")
        sent = time.time()
        client.produce(event.topic, value=event.value, key=event.key)
        client.poll(0)
        deadline = sent + wait_s
        while not (seen := reader.seen(event.event_id)) and time.time() < deadline:
            time.sleep(0.001)
        if not seen:
            lost += 1
        elif i >= warm_up:
            points.append((sent, seen[0]))
        time.sleep(rng.uniform(0.1, 0.4))
    client.flush(10)
    return {
        "events": count,
        "released": len(points),
        "not_released_in_time": lost,
        "idle_cpu_pct": cpu,
        **stages(points),
        "series": [(i, round((s.received_s - t) * 1000, 1)) for i, (t, s) in enumerate(points)],
    }


def paced(
    stack: BenchStack,
    spec: RoomSpec,
    reader: ReleasedReader,
    rate: float,
    seconds: float,
    timeout_s: float = 60.0,
    tag: str = "",
) -> dict[str, Any]:
    """Paced stows at ``rate``, each releasing a shipment of its own SKU; ``tag`` keeps a
    second run's shipments and event ids apart from the first's."""
    count = max(20, int(rate * seconds))
    skus = load_probes(stack.database_url, spec, f"P{tag}", count)
    events = [
        stow(sku, 1, location_name(i % spec.locations), stack.topics, f"latency{tag}-{i}")
        for i, sku in enumerate(skus)
    ]
    client = producer(stack.bootstrap, linger_ms=0)
    sent: dict[str, float] = {}
    start = time.time() + 0.2
    for i, event in enumerate(events):
        pause = start + i / rate - time.time()
        if pause > 0:
            time.sleep(pause)
        sent[event.event_id] = time.time()
        client.produce(event.topic, value=event.value, key=event.key)
        client.poll(0)
    client.flush(30)
    deadline = time.time() + timeout_s
    while reader.count(set(sent)) < count and time.time() < deadline:
        time.sleep(0.05)
    seen = {event_id: reader.seen(event_id) for event_id in sent}
    points = [(sent[e], s[0]) for e, s in seen.items() if s]
    return {
        "rate_asked": round(rate, 1),
        "rate_sent": round((count - 1) / max(1e-9, max(sent.values()) - min(sent.values())), 1),
        "events": count,
        "released": len(points),
        # below rate_sent: the worker could not keep up, and the latency grew all along
        "applied_per_s": round(
            len(points) / max(1e-9, max(s.received_s for _, s in points) - start), 1
        )
        if points
        else None,
        **stages(points),
        "series": [(round(t - start, 3), round((s.received_s - t) * 1000, 1)) for t, s in points],
        "started_s": start,
    }


def stages(points: list[tuple[float, Seen]]) -> dict[str, float | None]:
    """Percentiles of the whole latency and of each stage (the module docstring)."""
    return {
        **percentiles("latency", [s.received_s - t for t, s in points]),
        **percentiles("to_producer", [s.produced_s - t for t, s in points]),
        **percentiles("to_decision", [s.decided_s - t for t, s in points]),
        **percentiles("decision_to_send", [s.produced_s - s.decided_s for _, s in points]),
        **percentiles("send_to_reader", [s.received_s - s.produced_s for _, s in points]),
    }


def percentiles(name: str, seconds: list[float]) -> dict[str, float | None]:
    if not seconds:
        return {f"{name}_p50_ms": None, f"{name}_p99_ms": None, f"{name}_max_ms": None}
    ordered = sorted(seconds)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {f"{name}_p50_ms": pick(0.5), f"{name}_p99_ms": pick(0.99), f"{name}_max_ms": pick(1.0)}
