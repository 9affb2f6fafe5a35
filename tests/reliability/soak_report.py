"""What a soak saw: the schedule, every checkpoint's oracle verdict, the final check."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tests.e2e.support import WorkerProcess, World
from tests.reliability.verdict import Verdict


@dataclass(frozen=True)
class Checkpoint:
    """A quiet moment at the end of a phase: how long it took, who waited, and the waiting
    shipments the oracle says the free stock could complete (id, units per SKU)."""

    phase: int
    quiet_s: float
    waiting: int
    stranded: list[tuple[str, dict[str, int]]]


@dataclass
class SoakReport:
    seed: int
    verdict: Verdict = field(default_factory=Verdict)  # the final check's
    bursts: int = 0
    kills: int = 0
    restarts: int = 0
    events: Counter[str] = field(default_factory=Counter)  # published, by type
    states: Counter[str] = field(default_factory=Counter)  # shipments by state at the end
    schedule: list[str] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the soak's own: died, premature
    published_s: float = 0.0

    @property
    def lost_by_oracle(self) -> int:
        """Distinct shipments left waiting completable, at any checkpoint or at the end."""
        ids = {i for c in self.checkpoints for i, _ in c.stranded}
        ids |= {p.split()[3] for p in self.verdict.problems if "could be completed" in p}
        return len(ids)

    @property
    def doubled(self) -> int:
        return self.verdict.found["outputs"] + self.verdict.found["allocations"]

    @property
    def oversold(self) -> int:
        return self.verdict.found["stock"] + self.verdict.found["supplies"]

    @property
    def ok(self) -> bool:
        return not self.verdict.problems and not self.problems and self.lost_by_oracle == 0

    def summary(self) -> str:
        v = self.verdict
        other_lost = v.lost - v.found["releasable"]
        lines = [
            f"SOAK seed {self.seed}: {len(self.checkpoints)} phases, {self.bursts} bursts and"
            f" {len(self.checkpoints)} storms, {v.inputs} events in {self.published_s:.0f} s",
            "  events: " + ", ".join(f"{t} {n}" for t, n in sorted(self.events.items())),
            f"  replicas: 3, kill -9 {self.kills}, started again {self.restarts}",
            *(f"  {step}" for step in self.schedule),
            *(
                f"  checkpoint {c.phase}: quiet in {c.quiet_s:.1f} s, {c.waiting} waiting,"
                f" {len(c.stranded)} completable: {[i for i, _ in c.stranded][:8]}"
                for c in self.checkpoints
            ),
            f"  releases {v.releases}; shipments at the end: "
            + ", ".join(f"{s} {n}" for s, n in sorted(self.states.items())),
            f"  waiting at the end {self.states['WAITING']}; lost (oracle) {self.lost_by_oracle};"
            f" lost (other) {other_lost}; doubled {self.doubled}; oversold {self.oversold};"
            f" soak problems {len(self.problems)}",
            *(f"  ! {problem}" for problem in [*self.problems, *v.problems][:12]),
            f"  verdict: {'PASS' if self.ok else 'FAIL'}",
        ]
        return "\n".join(lines)


def owned(worker: WorkerProcess) -> set[str]:
    """The partitions the worker's log says it owns now ("topic[n]")."""
    partitions: set[str] = set()
    for record in worker.log_records():
        message = record.get("msg", "")
        if message.startswith("partitions assigned: "):
            partitions |= set(message.removeprefix("partitions assigned: ").split(", "))
        elif message.startswith(("partitions revoked: ", "partitions lost: ")):
            partitions -= set(message.split(": ", 1)[1].split(", "))
    return partitions


def stock_owners(world: World, workers: list[WorkerProcess]) -> str:
    """Which replica owns which `stock-stowed` partition, e.g. "r0 [0],[3]; r1 [2]; r2 [1]"."""
    topic = world.settings.topics.stock_stowed
    return "; ".join(
        f"r{world.workers.index(w)} "
        + (",".join(sorted(p.removeprefix(topic) for p in owned(w) if p.startswith(topic))) or "-")
        for w in workers
    )
