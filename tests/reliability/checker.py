"""The reliability checker: after any fault, hold the worker to its promises (SPEC I1 to I3).

Given a `World` and the `Recorder` of everything the test sent, `check` waits until the
system is quiet — the group's committed offsets reach every input partition's high watermark
and no outbox row is unpublished — then reads every output record back from the broker and
compares three records of what happened: the inputs, Postgres and the output topics.

- Nothing lost: every valid input is in the inbox with its own content's digest; every bad
  one is a dead letter (by source topic, partition and offset) with the expected
  `error.type`.
- Nothing twice: every copy of an output id carries the same bytes (a second decision under
  a deterministic id would differ), one release id per shipment, at most one release in a
  shipment's history, and each released shipment holds exactly its lines in allocations.
- No oversell, per location and SKU: free + allocated (+ what stowed supply covered) equals
  what was stowed; per supply: promised ≤ quantity, unless an update lowered it.
- The outbox: every row published, and the published ids (deduplicated) equal the decisions
  in Postgres (outbox and shipment history) — nothing missing, nothing extra.
- Nothing left releasable (I3): no waiting shipment could be completed from the free stock
  and the usable future supply, as decided by the independent oracle (`releasable.py`:
  static fences, per-location listings, bundles, BOPIS, split or not, the date limit).

`check` returns the counts it verified (`Verdict`), for the figures in docs/reliability.md;
`examine` does the same without raising, for a summary of everything found (the soak).

The broker side is `broker_state`; the checks are `delivery_checks` and `stock_checks`.
"""

from __future__ import annotations

import time

from tests.e2e.support import World
from tests.reliability.broker_state import read_to_end, wait_quiescent
from tests.reliability.delivery_checks import check_inputs, check_outputs
from tests.reliability.recorder import Recorder
from tests.reliability.stock_checks import (
    check_allocations,
    check_nothing_releasable,
    check_stock,
    check_supplies,
)
from tests.reliability.verdict import Verdict

CHECKS = ("inputs", "outputs", "allocations", "stock", "supplies", "releasable")
"""The names under which `Verdict.found` counts each check's problems, in running order."""


def check(world: World, recorder: Recorder, *, timeout_s: float = 60.0) -> Verdict:
    """Waits for quiescence, then checks everything in the module docstring; raises
    AssertionError listing every problem, else returns the verdict."""
    verdict = examine(world, recorder, timeout_s=timeout_s)
    assert not verdict.problems, "\n".join(verdict.problems[:40])
    return verdict


def examine(world: World, recorder: Recorder, *, timeout_s: float = 60.0) -> Verdict:
    """`check` without the assertion: the verdict with every problem found, counted per
    check in `found`. Not being quiet within `timeout_s` still raises."""
    verdict = Verdict(inputs=len(recorder.sent))
    verdict.waited_s = wait_quiescent(world, recorder, timeout_s)
    verdict.quiet_at = time.monotonic()
    topics = world.settings.topics
    outputs = read_to_end(world.settings.kafka, [topics.shipment_released, topics.still_unroutable])
    letters = read_to_end(world.settings.kafka, [topics.dead_letter])
    verdict.output_records = len(outputs)
    checks = (
        lambda: check_inputs(world, recorder.sent, letters, verdict),
        lambda: check_outputs(world, outputs, letters, verdict),
        lambda: check_allocations(world, verdict),
        lambda: check_stock(world, recorder, verdict),
        lambda: check_supplies(world, recorder, verdict),
        lambda: check_nothing_releasable(world, verdict),
    )
    for name, run in zip(CHECKS, checks, strict=True):
        before = len(verdict.problems)
        run()
        verdict.found[name] += len(verdict.problems) - before
    return verdict
