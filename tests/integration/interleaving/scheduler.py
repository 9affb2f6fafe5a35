"""Runs a few batches on their own threads, one step at a time, in an order the caller picks.

Each ``Actor`` runs one call (a ``BatchProcessor.process`` of its records) whose unit of
work pauses before every port call and before commit (``pausing``). The ``Scheduler``
lets exactly one paused actor go at a time and then waits until the run is *settled*:
every actor paused again, finished, or blocked inside Postgres on a lock held by a paused
actor (``lock_waits``). Only then is the next choice made, so a schedule — the sequence of
choices — decides what happens, and replaying its choices replays it.

A deadlock (a cycle of blocked actors) is left to Postgres, which aborts one of them; the
batch code retries it as a transient error and the retry pauses like the first attempt.
Which actor Postgres picks depends on timing: the first to wait is the victim when the
other starts waiting within ``deadlock_timeout`` (set high enough for that in conftest).
The trace records who got the error, so a replay can be compared with it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.integration.interleaving.lock_waits import BackendPids, LockWaits

SETTLE_TIMEOUT_S = 30.0
MAX_STEPS = 2_000

Chooser = Callable[[Sequence[str]], int]  # the runnable actors' names → index of the chosen


class Stuck(AssertionError):
    """The run did not settle, or no actor could go on while some had not finished."""


@dataclass
class Actor:
    name: str
    body: Callable[[Actor], Any]  # gets its actor, to reach ``pause``
    scheduler: Scheduler
    state: str = "new"  # new → running ⇄ paused → done
    at: str = ""  # the pause point it waits at
    attempt: int = 0
    granted: bool = False
    result: Any = None
    error: BaseException | None = None
    thread_id: int | None = None

    def pause(self, point: str) -> None:
        self.scheduler.pause(self, point)

    def run(self) -> None:
        self.thread_id = threading.get_ident()
        try:
            self.pause("begin")
            self.result = self.body(self)
        except BaseException as error:  # reported by the scheduler, never lost
            self.error = error
        finally:
            self.scheduler.finished(self)


@dataclass
class Scheduler:
    monitor: LockWaits
    pids: BackendPids
    actors: list[Actor] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)
    steps: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def add(self, name: str, body: Callable[[Actor], Any]) -> Actor:
        actor = Actor(name, body, self)
        self.actors.append(actor)
        return actor

    def note(self, actor: Actor, what: str) -> None:
        with self._cond:
            self.trace.append(f"    ~ {actor.name}: {what}")

    # --- called on the actors' threads ----------------------------------------------

    def pause(self, actor: Actor, point: str) -> None:
        with self._cond:
            actor.state, actor.at = "paused", point
            self._cond.notify_all()
            while not actor.granted:
                self._cond.wait()
            actor.granted = False

    def finished(self, actor: Actor) -> None:
        with self._cond:
            actor.state, actor.at = "done", ""
            self._cond.notify_all()

    # --- called on the test's thread ---------------------------------------------------

    def run(self, choose: Chooser) -> None:
        """Starts every actor and steps them until all are done; ``choose`` picks each step."""
        threads = [threading.Thread(target=a.run, name=a.name, daemon=True) for a in self.actors]
        for actor, thread in zip(self.actors, threads, strict=True):
            actor.state = "running"
            thread.start()
        try:
            for _ in range(MAX_STEPS):
                self._settle()
                runnable = [a for a in self.actors if a.state == "paused"]
                if not runnable:
                    return  # all done (settle raises if some are blocked for good)
                chosen = runnable[choose([a.name for a in runnable])]
                with self._cond:
                    self.steps += 1
                    self.trace.append(f"{self.steps:3d} {chosen.name}: {chosen.at}")
                    chosen.state, chosen.granted = "running", True
                    self._cond.notify_all()
            raise Stuck(f"more than {MAX_STEPS} steps")
        finally:
            self._release_all(threads)

    def _settle(self) -> None:
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        poll_s = 0.002  # a pause wakes us at once; Postgres is asked less and less often
        while True:
            with self._cond:
                running = [a for a in self.actors if a.state == "running"]
                if running:
                    self._cond.wait(poll_s)
                    poll_s = min(poll_s * 2, 0.016)
                    running = [a for a in self.actors if a.state == "running"]
            if not running:
                return
            pid_of = {a.name: self.pids.of(a.thread_id) for a in running if a.thread_id}
            waits = self.monitor.blocked(p for p in pid_of.values() if p is not None)
            blocked = {name for name, pid in pid_of.items() if pid in waits}
            paused = any(a.state == "paused" for a in self.actors)
            if paused and len(blocked) == len(running) and not _cycle(waits):
                return  # the blocked wait for paused actors: choose among the paused
            if time.monotonic() > deadline:
                states = {a.name: (a.state, a.at, a.name in blocked) for a in self.actors}
                raise Stuck(f"not settled after {SETTLE_TIMEOUT_S} s: {states}")

    def _release_all(self, threads: list[threading.Thread]) -> None:
        """After a failure of the scheduler itself: let every actor run free to its end."""
        for actor in self.actors:
            actor.scheduler = _FreeRunning()  # type: ignore[assignment]
        with self._cond:
            for actor in self.actors:
                actor.granted = True
            self._cond.notify_all()
        for thread in threads:
            thread.join(SETTLE_TIMEOUT_S)


class _FreeRunning:
    """What a released actor's pauses become: nothing."""

    def pause(self, actor: Actor, point: str) -> None:
        return None

    def finished(self, actor: Actor) -> None:
        actor.state = "done"

    def note(self, actor: Actor, what: str) -> None:
        return None


def _cycle(waits: dict[int, set[int]]) -> bool:
    """Whether the blocked backends wait for each other in a cycle (Postgres will break it)."""
    visiting: set[int] = set()
    done: set[int] = set()

    def visit(pid: int) -> bool:
        if pid in visiting:
            return True
        if pid in done or pid not in waits:
            return False
        visiting.add(pid)
        found = any(visit(holder) for holder in waits[pid])
        visiting.discard(pid)
        done.add(pid)
        return found

    return any(visit(pid) for pid in waits)
