"""The phases of one run, in order, on one stack; the results as one dictionary.

``measure`` is what ``bench.run`` calls once the code to measure is in place. Each step
that fails is recorded under ``errors`` and the run goes on, so a run always ends with its
summary line, with ``none`` for what could not be measured.
"""

from __future__ import annotations

import argparse
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from bench import latency, phases, report
from bench.database import commit_ceiling
from bench.events import event_mix, intake_mix
from bench.generate import load_room
from bench.naive import measure_naive
from bench.pyspy import PySpy, top_functions
from bench.room import RoomSpec, location_name, sku_name
from bench.snapshot import environment
from bench.stack import BenchStack, WorkerProcess
from bench.watch import ReleasedReader, Sampler


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def measured(results: dict[str, Any], name: str, step: Callable[[], Any]) -> Any:
    """Runs one step; a failure is recorded in the results and the run goes on."""
    started = time.perf_counter()
    try:
        value = step()
    except Exception as error:
        log(f"{name} failed: {error!r}")
        results.setdefault("errors", {})[name] = traceback.format_exc()
        return None
    log(f"{name} done in {time.perf_counter() - started:.1f} s")
    return value


def stock_sample(spec: RoomSpec, count: int, seed: int) -> list[tuple[str, str, int]]:
    """Stock events for the naive baseline, drawn like the mix's ``stock.stowed``."""
    rng = np.random.default_rng(seed)
    locations = rng.integers(spec.locations, size=count)
    skus = rng.integers(spec.stock_skus, size=count)
    return [
        (location_name(int(loc)), sku_name(int(sku)), 5)
        for loc, sku in zip(locations, skus, strict=True)
    ]


def first_worker(
    stack: BenchStack, spec: RoomSpec, args: argparse.Namespace, results: dict[str, Any]
) -> None:
    """Sustained (1 worker), then latency and burst on the same worker, RSS throughout."""
    workers = stack.start_workers(1)
    rss = Sampler(workers, interval_s=0.5).start()
    spy = PySpy(workers[0].pid, stack.logs / "profile-worker.txt", 3600) if args.profile else None
    mix = event_mix(spec, args.events, stack.topics, "s1", args.seed + 1)
    one = measured(
        results, "sustained x1", lambda: phases.sustained(stack, workers, mix, args.phase_timeout)
    )
    results["sustained"].append(one or {"workers": 1})
    if spy is not None and (raw := spy.stop()) is not None:
        results["profile"] = {"file": str(raw), **top_functions(raw)}
    reader = ReleasedReader(stack.bootstrap, stack.topics.shipment_released)

    def profiled(phase: str, run: Callable[[], Any]) -> Any:
        name = f"profile-worker-{phase}.txt"
        spy = PySpy(workers[0].pid, stack.logs / name, 3600) if args.profile else None
        try:
            return measured(results, phase, run)
        finally:
            if spy is not None and (raw := spy.stop()) is not None:
                results[f"profile_{phase}"] = {"file": str(raw), **top_functions(raw)}

    try:
        if one:
            results["latency_idle"] = measured(
                results, "idle latency", lambda: idle_phase(stack, spec, reader, workers[0], args)
            )
            rate, seconds = one["events_per_s"] / 2, args.latency_seconds
            results["latency_saturated"] = profiled(
                "latency", lambda: latency.paced(stack, spec, reader, rate, seconds)
            )
            # The events above each release a shipment, which costs several mix events: at
            # half the mix rate they saturate the worker (the figure is a growing queue).
            # The same at half the rate it applied them (its release capacity) is the
            # latency of a loaded worker that keeps up.
            capacity = (results["latency_saturated"] or {}).get("applied_per_s")
            if capacity:
                results["latency_loaded"] = measured(
                    results,
                    "latency at half the release capacity",
                    lambda: latency.paced(stack, spec, reader, capacity / 2, seconds, tag="U"),
                )
        timeout = 120.0 if args.quick else 600.0
        results["burst"] = profiled("burst", lambda: phases.burst(stack, spec, reader, timeout))
    finally:
        reader.close()
        rss.stop()
        stack.stop_workers()
    results["worker_rss_mb"] = round(rss.max_rss_bytes() / 2**20, 1)
    results["rss_series"] = [
        (round(t - rss.started_s, 1), round(r[0] / 2**20, 1)) for t, _, r in rss.samples
    ]


def idle_phase(
    stack: BenchStack,
    spec: RoomSpec,
    reader: ReleasedReader,
    worker: WorkerProcess,
    args: argparse.Namespace,
) -> dict[str, Any]:
    time.sleep(1.0)  # what the phase before left (the sweeper's round, a last commit)
    return latency.idle(stack, spec, reader, worker, args.idle_events)


def sustained_with(
    stack: BenchStack, spec: RoomSpec, args: argparse.Namespace, count: int, events: int
) -> dict[str, Any]:
    workers = stack.start_workers(count)
    try:
        mix = event_mix(spec, events, stack.topics, f"s{count}", args.seed + count)
        return phases.sustained(stack, workers, mix, args.phase_timeout)
    finally:
        stack.stop_workers()


def intake(stack: BenchStack, spec: RoomSpec, args: argparse.Namespace) -> dict[str, Any]:
    """``shipment.created`` only, in one burst, to one worker: shipments applied per second.
    With ``--profile``, py-spy records the worker through the phase (``profile`` in it)."""
    workers = stack.start_workers(1)
    spy = PySpy(workers[0].pid, stack.logs / "profile-intake.txt", 3600) if args.profile else None
    try:
        events = intake_mix(spec, args.intake_events, stack.topics, "i1", args.seed + 7)
        phase = phases.sustained(stack, workers, events, args.phase_timeout)
    finally:
        raw = spy.stop() if spy is not None else None
        stack.stop_workers()
    if raw is not None:
        phase["profile"] = {"file": str(raw), **top_functions(raw)}
    return phase


def idle_only(
    stack: BenchStack, spec: RoomSpec, args: argparse.Namespace, results: dict[str, Any]
) -> None:
    """``--idle-only``: one worker and the idle latency phase, nothing else."""
    workers = stack.start_workers(1)
    reader = ReleasedReader(stack.bootstrap, stack.topics.shipment_released)
    try:
        results["latency_idle"] = measured(
            results, "idle latency", lambda: idle_phase(stack, spec, reader, workers[0], args)
        )
    finally:
        reader.close()
        stack.stop_workers()


def run(args: argparse.Namespace, spec: RoomSpec, results: dict[str, Any]) -> None:
    stack = BenchStack(keep_database=args.keep_database)
    try:
        stack.start()
        log(f"database {stack.database}, broker {stack.bootstrap}, logs {stack.logs}")
        results["logs"] = str(stack.logs)
        results["generate"] = load_room(stack.database_url, spec, log)
        if args.idle_only:
            idle_only(stack, spec, args, results)
            return
        url = stack.database_url
        ceiling = [
            measured(results, "commit ceiling", lambda: commit_ceiling(url, args.commit_seconds))
        ]
        if args.intake_only:
            results["intake"] = measured(results, "intake", lambda: intake(stack, spec, args))
            results["commit_ceiling"] = {**(ceiling[0] or {}), "runs": [c for c in ceiling if c]}
            return
        sample = stock_sample(spec, args.naive_events, args.seed + 99)
        results["naive"] = measured(results, "naive", lambda: measure_naive(url, sample, log))
        measured(results, "first worker", lambda: first_worker(stack, spec, args, results))
        # As many events as one worker applied in ``phase_seconds``: a phase of that length
        # if more workers go no faster, shorter if they do.
        one = next((s for s in results["sustained"] if s.get("workers") == 1), {})
        rate = one.get("events_per_s") or 0
        events = min(args.events, max(1000, int(rate * args.phase_seconds)))
        for count in [int(n) for n in args.workers.split(",") if int(n) > 1]:
            phase = measured(
                results,
                f"sustained x{count}",
                lambda n=count: sustained_with(stack, spec, args, n, events),
            )
            results["sustained"].append(phase or {"workers": count})
        results["intake"] = measured(results, "intake", lambda: intake(stack, spec, args))
        # Once more with the workers gone: the ceiling is the better of the two, the other
        # one having met whatever else the machine was doing at the time.
        ceiling.append(
            measured(results, "commit ceiling", lambda: commit_ceiling(url, args.commit_seconds))
        )
        measured_ones = [c for c in ceiling if c]
        best = max(measured_ones, key=lambda c: c["commits_per_s"], default={})
        results["commit_ceiling"] = {**best, "runs": measured_ones}
    finally:
        stack.stop()


def measure(args: argparse.Namespace) -> None:
    """The whole run: results, JSON and plot, and the summary line last."""
    args.seed = RoomSpec.seed if args.seed is None else args.seed
    skus = max(1, args.waiting // 10)
    spec = RoomSpec(waiting=args.waiting, skus=skus, stock_skus=skus * 10, seed=args.seed)
    results: dict[str, Any] = {
        **environment(args.measured_at),
        "spec": vars(spec),
        "args": {k: str(v) for k, v in vars(args).items()},
        "sustained": [],
    }
    log(f"measuring the {results['git']['tree']} at {results['git']['commit'][:10]}")
    started = time.perf_counter()
    run(args, spec, results)
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["summary"] = report.summarise(results)
    results["targets"] = report.targets(results["summary"])
    stem = f"bench-{'quick' if args.quick else args.waiting}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    json_path, png_path = report.write(results, args.results_dir, stem)
    log(f"wrote {json_path} and {png_path} ({results['seconds']:.0f} s in all)")
    print(report.line(results["summary"]), flush=True)
