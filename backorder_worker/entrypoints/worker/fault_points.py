"""Test-only fault points: crash or stall the worker at a named point of a batch. They
exist only for the reliability tests; unset, they do nothing.

The reliability suite (tests/reliability) kills the worker between the steps whose order
the delivery guarantees rest on (``loop.py``; the points before the commit are handed to
the batch transaction by ``batch.py``): before the Postgres commit, after it and
before publishing the outbox, after publishing and before committing the offsets. A
`kill -9` from outside cannot aim at those gaps; a call of `maybe_crash(point)` at each of
them can.

`BACKORDER_FAULT_INJECT` holds comma-separated rules `POINT:N[:ACTION]`: at the `N`-th call
of `maybe_crash(POINT)` in this process (1-based), do `ACTION`:

- `crash` (the default): log one line, then `os._exit(137)`, the status of a `kill -9`.
  Nothing else runs: no `finally`, no offset commit, no outbox publish, no group leave.
- `sleep=SECONDS`: stall the calling thread once, e.g. for a batch slower than the poll
  interval.
- `stop`: SIGSTOP the whole process, as a `kill -STOP` from outside landing exactly there;
  a `kill -CONT` resumes it at that point. Unlike a stop from outside, it cannot miss.

The `applied-…` points are counted only in batches that applied at least one event, so
their transaction has provably written (its inbox claims, at least) by then; a batch of
duplicates only, as a redelivery after a rebalance can be, does not count.

Example: `BACKORDER_FAULT_INJECT="after-db-commit:3"`. Unset (production), `maybe_crash` is
one dictionary lookup. The variable is read at the first call, not at import.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Final

log = logging.getLogger(__name__)

ENV_VAR: Final = "BACKORDER_FAULT_INJECT"
BEFORE_DB_COMMIT: Final = "before-db-commit"
AFTER_DB_COMMIT: Final = "after-db-commit"
AFTER_PUBLISH: Final = "after-publish"
APPLIED_BEFORE_COMMIT: Final = "applied-before-commit"
APPLIED_AFTER_COMMIT: Final = "applied-after-commit"
POINTS: Final = (
    BEFORE_DB_COMMIT,
    AFTER_DB_COMMIT,
    AFTER_PUBLISH,
    APPLIED_BEFORE_COMMIT,
    APPLIED_AFTER_COMMIT,
)
CRASH_STATUS: Final = 137


@dataclass(frozen=True, slots=True)
class Rule:
    point: str
    at_call: int
    sleep_s: float | None = None  # None: crash (or stop)
    stop: bool = False


def parse(spec: str) -> dict[str, list[Rule]]:
    """The rules of a `BACKORDER_FAULT_INJECT` value, by point; `ValueError` on a typo, so
    that a misspelt fault cannot silently never fire."""
    rules: dict[str, list[Rule]] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        point, _, rest = part.partition(":")
        count, _, action = rest.partition(":")
        if point not in POINTS:
            raise ValueError(f"{ENV_VAR}: unknown point {point!r}; known: {', '.join(POINTS)}")
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"{ENV_VAR}: {part!r} needs a call number >= 1 after the point")
        sleep_s = None
        if action.startswith("sleep="):
            sleep_s = float(action.removeprefix("sleep="))
        elif action not in ("", "crash", "stop"):
            raise ValueError(f"{ENV_VAR}: unknown action {action!r}; use crash, stop or sleep=S")
        rules.setdefault(point, []).append(Rule(point, int(count), sleep_s, action == "stop"))
    return rules


class _Injector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, list[Rule]] | None = None
        self._calls: dict[str, int] = {}

    def reset(self, spec: str | None = None) -> None:
        with self._lock:
            self._rules = None if spec is None else parse(spec)
            self._calls = {}

    def due(self, point: str) -> Rule | None:
        with self._lock:
            if self._rules is None:
                self._rules = parse(os.environ.get(ENV_VAR, ""))
            rules = self._rules.get(point)
            if not rules:
                return None
            calls = self._calls[point] = self._calls.get(point, 0) + 1
            return next((rule for rule in rules if rule.at_call == calls), None)


_injector = _Injector()


def maybe_crash(point: str) -> None:
    """Crash (or stall) here if `BACKORDER_FAULT_INJECT` asks for it at this call."""
    rule = _injector.due(point)
    if rule is None:
        return
    if rule.sleep_s is not None:
        log.warning("fault injected: sleep %.1f s at %s #%d", rule.sleep_s, point, rule.at_call)
        time.sleep(rule.sleep_s)
        return
    if rule.stop:
        log.warning("fault injected: stop at %s #%d", point, rule.at_call)
        for handler in logging.getLogger().handlers:
            handler.flush()  # the line is out before the process freezes
        os.kill(os.getpid(), signal.SIGSTOP)
        return
    log.warning("fault injected: crash at %s #%d", point, rule.at_call)
    logging.shutdown()  # flush the log line above; nothing else may run
    os._exit(CRASH_STATUS)


def reset(spec: str | None = None) -> None:
    """Forget the calls counted so far; read `spec` (or, when None, the environment again
    at the next call). For tests of this module."""
    _injector.reset(spec)
