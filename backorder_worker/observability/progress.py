"""`LoopProgress`: when the poll loop last came round, for the liveness probe.

The worker's polling thread marks the loop at every turn (each `poll()` returns within its
timeout, so an idle worker marks twice a second); the HTTP thread reads. A loop that holds
partitions and has not come round for `stall_after_s` is stuck (a batch blocked on a lock,
a hung call): the probe says so and the orchestrator restarts the process, whose partitions
the group then gives to a live member. A loop without partitions is not judged: it has no
work another member could take over.

The default threshold is the consumer's `max_poll_interval_ms` and half as much again: by
then the group has already removed the member for not polling, and a batch that was only
slow (a long retry of a transient failure) has had its chance to finish.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

STALL_FACTOR: Final = 1.5  # of max_poll_interval_ms


def stall_after_s(max_poll_interval_ms: int) -> float:
    """The liveness threshold for a worker polling with `max_poll_interval_ms`."""
    return STALL_FACTOR * max_poll_interval_ms / 1000.0


class LoopProgress:
    """Written by one thread (the loop), read by others (the probes).

    The state is one tuple replaced whole, so a reader never sees the time of one mark with
    the partition count of another: a single reference assignment is atomic in CPython."""

    def __init__(self, stall_after_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_after_s = stall_after_s
        self._clock = clock
        self._state: tuple[float, int] = (clock(), 0)

    def mark(self, partitions: int) -> None:
        """The loop came round holding `partitions` partitions."""
        self._state = (self._clock(), partitions)

    def is_live(self) -> tuple[bool, str]:
        """(True, "ok"), or False with why: how long the loop has not come round."""
        at, partitions = self._state
        idle = self._clock() - at
        if partitions and idle > self.stall_after_s:
            return False, (
                f"poll loop stalled for {idle:.0f} s holding {partitions} partitions "
                f"(limit {self.stall_after_s:.0f} s)"
            )
        return True, "ok"
