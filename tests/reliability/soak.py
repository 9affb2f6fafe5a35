"""The multi-replica soak (issue 10): real worker processes, a changing world, kill -9.

`play` starts three `backorder-worker run` replicas of one consumer group, applies the
catalog, then plays *phases*. A phase publishes seeded bursts of `soak_plan` through an
independent client (confluent-kafka), then a storm — the stock of every shipment still
without it, at once — and ends at a checkpoint: it waits for quiescence (every input
partition's lag drained, the outbox published; polled, with a generous deadline) and asks
the independent oracle whether any waiting shipment could be completed (I3). Checking at
every phase's quiet matters: a release lost in one storm may be rescued by a later event
for the same SKU, and I3 holds at *every* quiescence, not only the last.

Replicas: phase 2 (then every third) kills one with SIGKILL halfway through its bursts;
the next phase starts a new one halfway through. At the end the whole reliability checker
runs: nothing lost, nothing doubled, nothing oversold, I3 by the oracle. The soak adds: no
FUTURE shipment dated beyond the date limit, and no replica died that was not killed.

The verdict does not depend on timing: the schedule moves where the races land, never
what a correct worker must end with. `python -m tests.reliability.soak --minutes N`
(`make soak`) plays it for N minutes; `tests/reliability/test_soak.py` a short one.
"""

from __future__ import annotations

import random
import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tests.e2e.support import WorkerProcess, World
from tests.reliability.broker_state import wait_quiescent
from tests.reliability.checker import examine
from tests.reliability.recorder import Recorder
from tests.reliability.releasable import stranded
from tests.reliability.soak_plan import SoakPlan
from tests.reliability.soak_report import Checkpoint, SoakReport, stock_owners
from tests.reliability.support import wait_for

REPLICAS = 3
WORKER_ENV: dict[str, str] = {}  # the worker as shipped
QUIET_WITHIN_S = 300.0  # generous: a deadline on a loaded machine, not a measured figure
CYCLE = 3  # phases 1, 4, 7…: all up; 2, 5…: one killed halfway; 3, 6…: one started halfway


@dataclass(frozen=True)
class Length:
    """`phases` phases, or phases until `minutes` have passed (ending with all replicas
    up); `bursts` per phase, `pause_s` between them (load spread over the phase)."""

    phases: int | None = None
    minutes: float | None = None
    bursts: int = 15
    pause_s: float = 0.2

    def done(self, phase: int, elapsed_s: float) -> bool:
        if self.phases is not None:
            return phase >= self.phases
        return phase % CYCLE == 1 and elapsed_s >= (self.minutes or 0.0) * 60


def play(world: World, seed: int, length: Length) -> SoakReport:
    """The soak on `world` (fresh: its own database, topics and consumer group)."""
    rnd = random.Random(seed)
    plan = SoakPlan(seed)
    recorder = Recorder(world)
    report = SoakReport(seed)
    up = [world.start_worker(**WORKER_ENV) for _ in range(REPLICAS)]
    wait_for("three replicas ready", lambda: all(w.is_ready() for w in up), 60)
    world.wait_applied(recorder.publish(plan.catalog()), 120)
    started = time.monotonic()

    def note(what: str) -> None:
        report.schedule.append(f"t={time.monotonic() - started:.1f}s phase {phase}: {what}")

    phase = 0
    while not length.done(phase, time.monotonic() - started):
        phase += 1
        world.wait_applied(recorder.publish(plan.phase()), QUIET_WITHIN_S)  # listed first
        for number in range(length.bursts):
            recorder.publish(plan.burst())
            report.bursts += 1
            if number == length.bursts // 2 and phase % CYCLE == 2:
                doomed = up.pop(rnd.randrange(len(up)))
                note(f"stock-stowed owners {stock_owners(world, [*up, doomed])}")
                doomed.kill(signal.SIGKILL)
                report.kills += 1
                note(f"kill -9 {_name(world, doomed)}")
            elif number == length.bursts // 2 and phase % CYCLE == 0:
                up.append(world.start_worker(**WORKER_ENV))
                report.restarts += 1
                note(f"started {_name(world, up[-1])}")
            time.sleep(length.pause_s)
        wait_for("every replica ready", lambda: all(w.is_ready() for w in up), 60)
        # The storm finds every replica idle, so that their batches of it run side by side.
        world.wait_applied(recorder.ids(), QUIET_WITHIN_S)
        storm = plan.storm()
        note(
            f"storm of {len(storm)} events on {waiting_count(world)} waiting;"
            f" stock-stowed owners {stock_owners(world, up)}"
        )
        recorder.publish(storm)
        report.checkpoints.append(checkpoint(world, recorder, phase))
    report.published_s = time.monotonic() - started
    report.verdict = examine(world, recorder, timeout_s=QUIET_WITHIN_S)
    report.events.update(s.event_type or "raw" for s in recorder.sent)
    report.states.update(dict(world.sql("select state, count(*) from shipments group by 1")))
    report.problems += [
        f"{_name(world, w)} died ({w.process.poll()})" for w in up if not w.is_alive()
    ]
    report.problems += premature_future(world)
    return report


def checkpoint(world: World, recorder: Recorder, phase: int) -> Checkpoint:
    """Quiescence, then the oracle on every waiting shipment (I3)."""
    quiet_s = wait_quiescent(world, recorder, QUIET_WITHIN_S)
    return Checkpoint(phase, quiet_s, waiting_count(world), stranded(world))


def waiting_count(world: World) -> int:
    [(waiting,)] = world.sql("select count(*) from shipments where state = 'WAITING'")
    return int(waiting)


def premature_future(world: World) -> list[str]:
    """FUTURE shipments dated beyond the limit (R4). Their date was within the limit of the
    day they were decided on, which is today or earlier: a later date is a rule broken."""
    limit = datetime.now(UTC).date() + timedelta(days=world.settings.site.future_date_limit_days)
    return [
        f"FUTURE shipment {shipment_id} expected {expected}, beyond {limit}"
        for shipment_id, expected in world.sql(
            "select shipment_id, expected_date from shipments"
            " where state = 'FUTURE' and expected_date > :limit",
            limit=limit,
        )
    ]


def _name(world: World, worker: WorkerProcess) -> str:
    return f"replica {world.workers.index(worker)} (pid {worker.process.pid})"


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.reliability.soak --minutes N [--seed S]`: the soak for N minutes on
    the services of the tests (BACKORDER_TEST_DATABASE_URL, BACKORDER_TEST_KAFKA_BOOTSTRAP;
    embedded Postgres and a Tansu broker where they are not set), a Redis of its own.
    Prints the summary; exit status 1 if anything was found."""
    import argparse
    import os
    import re
    import tempfile
    from contextlib import ExitStack
    from pathlib import Path

    from backorder_worker.devstack.embedded_stack import EmbeddedStack
    from backorder_worker.devstack.tansu import TansuBroker
    from tests.e2e.support import drop_database, new_tag

    parser = argparse.ArgumentParser(prog="python -m tests.reliability.soak")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        postgres = (
            os.environ.get("BACKORDER_TEST_DATABASE_URL")
            or stack.enter_context(
                EmbeddedStack(postgres=True, redis=False, kafka=False)
            ).database_url
        )
        postgres = re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", postgres)
        bootstrap = (
            os.environ.get("BACKORDER_TEST_KAFKA_BOOTSTRAP")
            or stack.enter_context(TansuBroker()).bootstrap_servers
        )
        redis = stack.enter_context(EmbeddedStack(postgres=False, redis=True, kafka=False))
        logs = Path(tempfile.mkdtemp(prefix="soak-"))
        tag = new_tag()
        world = World.create(postgres, redis.redis_url, bootstrap, tag, logs)
        print(f"soak seed {args.seed} for {args.minutes} min; worker logs in {logs}", flush=True)
        try:
            report = play(world, args.seed, Length(minutes=args.minutes))
        finally:
            world.close()
        print(report.summary())
        if report.ok:
            drop_database(postgres, f"e2e_{tag}")
        else:
            print(f"  database e2e_{tag} kept for inspection")
        return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
