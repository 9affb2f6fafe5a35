"""One benchmark run: load the room, measure the baselines and the worker, report.

    python -m bench.run --quick     # 100,000 waiting, under three minutes on two cores
    python -m bench.run             # 1,000,000 waiting (the full run: tens of minutes)
    python -m bench.run --quick --at HEAD   # the committed worker, not the working tree
    python -m bench.run --idle-only --waiting 10000   # the idle latency alone
    python -m bench.run --intake-only --quick --profile   # the intake alone, profiled

In order, in one run and on one database: the waiting room (``generate``); the commit
ceiling; the naive baseline (``naive``); one worker on the sustained mix, then the idle
latency (one release at a time), the paced latency at half the rate that worker sustained
(saturated) and at half the release rate it then applied (loaded), then the
10,000-shipment burst (its RSS sampled throughout); then the sustained mix again with 2
and with 4 workers; the intake (``shipment.created`` only, a fresh worker); the commit
ceiling again (the better of the two counts, the machine being shared). It
ends with one ``bench:`` line and writes ``bench/results/bench-<size>-<time>.json`` and
``.png``. ``--profile`` also records the first worker with py-spy during its sustained phase (and
the intake worker during the intake).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from bench.snapshot import BENCH, relaunch_at

# bench.session, which imports the worker's package, is imported only after ``--at`` has
# had its chance to put another version of that package in place.


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 waiting, short phases")
    parser.add_argument("--waiting", type=int, help="waiting shipments (SKUs: a tenth of it)")
    parser.add_argument("--events", type=int, help="events of the one-worker sustained phase")
    parser.add_argument(
        "--phase-seconds",
        type=float,
        help="the 2- and 4-worker phases get the events one worker applied in this time",
    )
    parser.add_argument("--workers", default="1,2,4", help="worker counts of the sustained phases")
    parser.add_argument("--latency-seconds", type=float, help="length of the paced phase")
    parser.add_argument("--idle-events", type=int, help="probes of the idle-latency phase")
    parser.add_argument("--intake-events", type=int, help="shipment.created of the intake phase")
    parser.add_argument(
        "--idle-only", action="store_true", help="the room, then only the idle-latency phase"
    )
    parser.add_argument(
        "--intake-only",
        action="store_true",
        help="the room, a commit ceiling, then only the intake phase (--profile: py-spy on it)",
    )
    parser.add_argument("--naive-events", type=int, default=2)
    parser.add_argument("--commit-seconds", type=float, default=5.0)
    parser.add_argument("--profile", action="store_true", help="py-spy on the first worker")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--seed", type=int, help="default: the room's (RoomSpec.seed)")
    parser.add_argument("--at", metavar="REV", help="measure this commit, not the working tree")
    parser.add_argument("--measured-at", help=argparse.SUPPRESS)
    parser.add_argument("--results-dir", type=Path, default=BENCH / "results")
    args = parser.parse_args()
    args.waiting = args.waiting or (100_000 if args.quick else 1_000_000)
    args.events = args.events or (4_000 if args.quick else 40_000)
    args.latency_seconds = args.latency_seconds or (8.0 if args.quick else 30.0)
    args.phase_seconds = args.phase_seconds or (6.0 if args.quick else 60.0)
    args.idle_events = args.idle_events or (40 if args.quick else 200)
    args.intake_events = args.intake_events or (2_000 if args.quick else 20_000)
    args.phase_timeout = 120.0 if args.quick else 900.0  # a phase that fails, fails by then
    return args


def main() -> None:
    args = parse()
    if args.at:
        relaunch_at(args.at, sys.argv[1:], args.results_dir)
    from bench.session import measure

    try:
        measure(args)
    finally:
        if args.measured_at:  # the snapshot relaunch_at made for this run
            snapshot = Path.cwd()
            if snapshot.name.startswith(f"backorder-bench-{args.measured_at[:10]}-"):
                shutil.rmtree(snapshot, ignore_errors=True)


if __name__ == "__main__":
    main()
