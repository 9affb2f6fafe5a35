"""The results of a run: the summary line, the targets, the JSON and the plot.

The targets are the issues' (#6, #14); a ratio is computed from figures of the same run. The
plot has four panels: sustained throughput over time for each number of workers, the
latency of each paced event (saturated and loaded) over the time it was sent, the burst's
released events over time, and the first worker's RSS over the run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

TARGETS = {  # name: (comparison, threshold)
    "speedup_vs_naive": (">=", 100.0),
    "throughput_vs_commit_floor": (">=", 3.0),
    "p99_loaded_ms": ("<=", 250.0),
    "burst_10k_s": ("<=", 5.0),
    "worker_rss_mb": ("<=", 300.0),
    "p50_idle_ms": ("<=", 30.0),
    "p99_idle_ms": ("<=", 100.0),
    "intake_vs_commit_floor": (">=", 1.0),
    "scale_4_vs_1": (">=", 1.0),
    "deadlocks": ("<=", 0.0),
}


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    """The headline figures, from the phases' results (None where a phase failed)."""
    phases = results.get("sustained", [])
    one: dict[str, Any] = next((s for s in phases if s.get("workers") == 1), {})
    four: dict[str, Any] = next((s for s in phases if s.get("workers") == 4), {})
    rate = one.get("events_per_s")
    naive = results.get("naive", {}).get("events_per_s")
    commits = results.get("commit_ceiling", {}).get("commits_per_s")
    idle = results.get("latency_idle") or {}
    intake = (results.get("intake") or {}).get("events_per_s")
    counted = [p for p in [*phases, results.get("intake") or {}] if "deadlocks" in p]
    return {
        "events_per_s": rate,
        # the paced phase at half the mix rate, which saturates the worker: a growing queue
        "p99_ms": (results.get("latency_saturated") or {}).get("latency_p99_ms"),
        "burst_10k_s": results.get("burst", {}).get("burst_s"),
        "speedup_vs_naive": _ratio(rate, naive),
        "throughput_vs_commit_floor": _ratio(rate, commits),
        "waiting": results["spec"]["waiting"],
        "p50_idle_ms": idle.get("latency_p50_ms"),
        "p99_idle_ms": idle.get("latency_p99_ms"),
        "intake_per_s": intake,
        "scale_4_vs_1": _ratio(four.get("events_per_s"), rate),
        "deadlocks": sum(p["deadlocks"] for p in counted) if counted else None,
        # not on the line
        "worker_rss_mb": results.get("worker_rss_mb"),
        "p99_saturated_ms": (results.get("latency_saturated") or {}).get("latency_p99_ms"),
        # at half the rate the worker applied releases in the saturated phase
        "p99_loaded_ms": (results.get("latency_loaded") or {}).get("latency_p99_ms"),
        "idle_cpu_pct": idle.get("idle_cpu_pct"),
        "intake_vs_commit_floor": _ratio(intake, commits),
        "lock_reruns": sum(p.get("lock_reruns", 0) for p in counted) if counted else None,
    }


def targets(summary: dict[str, Any]) -> dict[str, Any]:
    checked = {}
    for name, (comparison, threshold) in TARGETS.items():
        value = summary.get(name)
        met = (
            None
            if value is None
            else value >= threshold
            if comparison == ">="
            else value <= threshold
        )
        checked[name] = {"target": f"{comparison} {threshold:g}", "value": value, "met": met}
    return checked


def line(summary: dict[str, Any]) -> str:
    names = (
        "events_per_s",
        "p99_ms",
        "burst_10k_s",
        "speedup_vs_naive",
        "throughput_vs_commit_floor",
        "waiting",
        "p50_idle_ms",
        "p99_idle_ms",
        "intake_per_s",
        "scale_4_vs_1",
        "deadlocks",
    )
    return "bench: " + " ".join(f"{name}={_fmt(summary.get(name))}" for name in names)


def write(results: dict[str, Any], out_dir: Path, stem: str) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out_dir / f"{stem}.json", out_dir / f"{stem}.png"
    json_path.write_text(json.dumps(results, indent=2, default=str))
    plot(results, png_path)
    return json_path, png_path


def plot(results: dict[str, Any], path: Path) -> None:
    fig, axes = plt.subplots(2, 2, figsize=(13, 8))
    (throughput, latency), (burst, memory) = axes
    for phase in results.get("sustained", []):
        if phase.get("series"):
            times, applied = zip(*phase["series"], strict=True)
            label = f"{phase['workers']} worker(s): {phase['events_per_s']:,.0f} ev/s"
            throughput.step(times, applied, where="post", label=label)
    throughput.set(
        title="sustained mix: events applied (each step is a committed batch)",
        xlabel="s since the events were produced",
        ylabel="events applied",
    )
    throughput.legend(fontsize=8)
    loaded = results.get("latency_loaded") or {}
    for label, phase in (("saturated", results.get("latency_saturated")), ("loaded", loaded)):
        if phase and phase.get("series"):
            x, y = zip(*phase["series"], strict=True)
            p99 = phase.get("latency_p99_ms")
            rate = phase.get("rate_sent") or 0
            latency.scatter(x, y, s=4, label=f"{label}, {rate:.0f}/s: p99 {p99} ms")
    latency.axhline(250, color="r", linewidth=0.8, label="target p99 (loaded) 250 ms")
    latency.legend(fontsize=8)
    latency.set(
        title="paced: publish → shipment.released (idle: p50/p99 "
        f"{results.get('summary', {}).get('p50_idle_ms')}/"
        f"{results.get('summary', {}).get('p99_idle_ms')} ms)",
        xlabel="s since the first send",
        ylabel="ms",
    )
    if results.get("burst", {}).get("series"):
        x, y = zip(*results["burst"]["series"], strict=True)
        burst.plot(x, y)
        burst.axvline(5.0, color="r", linewidth=0.8, label="target 5 s")
        burst.set_xlim(left=0)
        burst.legend(fontsize=8)
    burst.set(
        title="burst: shipment.released events out after one stow",
        xlabel="s since the stow was sent",
        ylabel="released",
    )
    if results.get("rss_series"):
        x, y = zip(*results["rss_series"], strict=True)
        memory.plot(x, y)
        memory.axhline(300, color="r", linewidth=0.8, label="target 300 MB")
        memory.legend(fontsize=8)
    memory.set(
        title="worker RSS (one worker: sustained, latency, burst)",
        xlabel="s since the worker started",
        ylabel="MB",
    )
    summary = results.get("summary", {})
    title = line(summary).replace(" p50_idle_ms", "\np50_idle_ms")  # two lines: it is long
    fig.suptitle(f"{title}  @ {results.get('git', {}).get('commit', '')[:10]}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if not a or not b else round(a / b, 2)


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)
