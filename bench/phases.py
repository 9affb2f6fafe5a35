"""The measured phases of a run, each against workers that are already up and in the group.

- ``sustained``: a pre-built mix is produced in one burst (confluent-kafka, far faster than
  any worker, so the producer is not what is measured); events/s is the events applied
  after the first batch over the time from that first commit to the last one. The intake
  (``intake_per_s``) is this phase with ``shipment.created`` events only.
- ``burst``: one stow that unlocks ``spec.burst`` waiting shipments; the time until the last
  of their released events is on the topic.

The latency phases are in latency.py.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import psycopg

from bench.database import ReadCounters, conninfo
from bench.events import Prepared, produce_all, stow
from bench.room import BURST_SKU, RoomSpec, location_name
from bench.stack import BenchStack, WorkerProcess
from bench.watch import ReleasedReader, Sampler, Seen


def sustained(
    stack: BenchStack, workers: list[WorkerProcess], events: Sequence[Prepared], timeout_s: float
) -> dict[str, Any]:
    ids = [event.event_id for event in events]
    before = ReadCounters.take(stack.database_url)
    sampler = Sampler(workers).start()
    produce_s = produce_all(stack.bootstrap, events)
    completed_by = _wait_applied(stack, sampler, ids, timeout_s)
    sampler.stop()
    after = ReadCounters.take(stack.database_url, settle_s=1.5)
    series = [(t, applied) for t, applied, _ in sampler.samples]
    first = next(((t, n) for t, n in series if n > 0), None)
    last = sampler.last_progress_s()
    if first is None or completed_by is None or last <= first[0]:
        raise TimeoutError(f"{len(events)} events not applied in {timeout_s} s; see {stack.logs}")
    return {
        "workers": len(workers),
        "events": len(events),
        "events_per_s": round((len(events) - first[1]) / (last - first[0]), 1),
        "seconds": round(last - sampler.started_s, 2),
        "produce_s": round(produce_s, 3),
        "completed_by": completed_by,
        "in_inbox": _in_inbox(stack, ids),
        "max_rss_mb": round(sampler.max_rss_bytes() / 2**20, 1),
        **_troubles(workers),
        **after.per_event(before, len(events)),
        "series": [(round(t - sampler.started_s, 2), n) for t, n in series],
        "started_s": sampler.started_s,
    }


def _wait_applied(
    stack: BenchStack, sampler: Sampler, ids: list[str], timeout_s: float
) -> str | None:
    """Until the workers' counters show every event applied. After 5 s without progress
    (a worker that died took its last counts with it) the inbox itself is asked; its reads
    then count in the phase's. None when time is up or every worker has exited."""
    deadline = time.time() + timeout_s
    asked = 0.0
    while time.time() < deadline:
        if sampler.applied() >= len(ids):
            return "metrics"
        if all(worker.process.poll() is not None for worker in sampler.workers):
            return None
        stalled = time.time() - max(sampler.last_progress_s(), asked)
        if stalled > 5.0:
            asked = time.time()
            if _in_inbox(stack, ids) >= len(ids):
                return "inbox"
        time.sleep(0.05)
    return None


def _in_inbox(stack: BenchStack, ids: list[str]) -> int:
    with psycopg.connect(conninfo(stack.database_url)) as conn:
        row = conn.execute("SELECT count(*) FROM inbox WHERE event_id = ANY(%s)", [ids]).fetchone()
    return int(row[0]) if row else 0


def _troubles(workers: list[WorkerProcess]) -> dict[str, int]:
    """What went wrong during the phase, from the workers' logs and counters. A deadlock
    retry is a batch retried after SQLSTATE 40P01: its log line names the error psycopg
    raises for it, ``DeadlockDetected`` (whatever the server's message language)."""
    return {
        "batch_retries": sum(w.log_count("transient failure, retrying") for w in workers),
        "deadlocks": sum(
            w.log_count("transient failure, retrying", "DeadlockDetected") for w in workers
        ),
        # a debug line in the log: the counter is what tells
        "lock_reruns": sum(round(w.metric("backorder_lock_reruns_total")) for w in workers),
        "workers_died": sum(w.process.poll() is not None for w in workers),
    }


def burst(
    stack: BenchStack, spec: RoomSpec, reader: ReleasedReader, timeout_s: float
) -> dict[str, Any]:
    event = stow(BURST_SKU, spec.burst, location_name(0), stack.topics, "burst-1")
    before = ReadCounters.take(stack.database_url)
    sent = time.time()
    produce_all(stack.bootstrap, [event])
    deadline = sent + timeout_s
    while len(reader.seen(event.event_id)) < spec.burst and time.time() < deadline:
        time.sleep(0.02)
    seen: list[Seen] = sorted(reader.seen(event.event_id), key=lambda s: s.received_s)
    after = ReadCounters.take(stack.database_url, settle_s=1.5)
    done = len(seen) >= spec.burst
    return {
        "shipments": spec.burst,
        "released": len(seen),
        "duplicates_seen": reader.duplicates,
        "burst_s": round(seen[-1].received_s - sent, 3) if done else None,
        "decided_first_s": round(min(s.decided_s for s in seen) - sent, 3) if seen else None,
        "decided_last_s": round(max(s.decided_s for s in seen) - sent, 3) if seen else None,
        "rows_read_per_release": after.per_event(before, len(seen))["rows_read_per_event"],
        "series": [
            (round(s.received_s - sent, 3), i + 1)
            for i, s in enumerate(seen)
            if i % 50 == 0 or i == len(seen) - 1
        ],
        "started_s": sent,
    }
