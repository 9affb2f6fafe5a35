"""The checks of what Postgres holds at quiescence (SPEC I1 to I3).

Each released shipment holds exactly its lines in allocations, nothing else holds
anything, and a shipment is released at most once (and never after its cancel). No
oversell, per location and SKU: free + allocated (+ what stowed supply covered) equals
what was stowed; per supply: promised ≤ quantity, unless an update lowered it. Nothing
left releasable: no waiting shipment could be completed, as decided by the independent
oracle (`releasable.py`).
"""

from __future__ import annotations

from collections import Counter, defaultdict

from tests.e2e.support import World
from tests.reliability.recorder import Recorder
from tests.reliability.releasable import stranded
from tests.reliability.verdict import Verdict

RELEASED_STATES = ("READY", "FUTURE")
PARENT_RELEASED_STATES = ("READY", "REASSIGNED")


def check_allocations(world: World, verdict: Verdict) -> None:
    """A released shipment holds exactly its lines; nothing else holds anything. A shipment
    cancelled after its release keeps what it held ("nothing to take back"): it is judged
    in the state the cancel found it in, and only a release after the cancel breaks I2."""
    allocated: dict[str, Counter[str]] = defaultdict(Counter)
    for shipment_id, sku, quantity in world.sql(
        "select shipment_id, sku, sum(quantity) from allocations group by shipment_id, sku"
    ):
        allocated[shipment_id][sku] += int(quantity)
    cancelled_in = dict(
        world.sql(
            "select shipment_id, detail->>'previous_state' from shipment_history"
            " where detail->>'outcome' = 'cancelled'"
        )
    )
    for shipment_id, state, lines in world.sql("select shipment_id, state, lines from shipments"):
        held = allocated.pop(shipment_id, Counter())
        if state == "CANCELLED":
            state = cancelled_in.get(shipment_id) or state
        if state in RELEASED_STATES:
            wanted: Counter[str] = Counter()
            for line in lines:
                wanted[line["sku"]] += int(line["quantity"])
            if held != wanted:
                verdict.fail(
                    "duplicated",
                    f"{state} shipment {shipment_id} holds {dict(held)}, not {dict(wanted)}",
                )
        elif held:
            verdict.fail("duplicated", f"{state} shipment {shipment_id} holds {dict(held)}")
    for shipment_id, held in allocated.items():
        verdict.fail("duplicated", f"unknown shipment {shipment_id} holds {dict(held)}")
    for shipment_id, count in world.sql(
        "select shipment_id, count(*) from shipment_history"
        " where detail->>'outcome' = 'released' group by shipment_id having count(*) > 1"
    ):
        verdict.fail("duplicated", f"shipment {shipment_id} released {count} times in history")
    for (shipment_id,) in world.sql(
        "select c.shipment_id from shipment_history c join shipment_history r"
        " on r.shipment_id = c.shipment_id"
        " where c.detail->>'outcome' = 'cancelled' and r.detail->>'outcome' = 'released'"
        " and (r.id > c.id or c.detail->>'previous_state' not in ('READY', 'FUTURE', 'REASSIGNED'))"
    ):
        verdict.fail("duplicated", f"cancelled shipment {shipment_id} was released")


def _adjusted_keys(recorder: Recorder) -> set[tuple[str, str]]:
    """(location, SKU) whose free stock an absolute level or a short pick may have set."""
    keys = {(s.data["location_id"], s.data["sku"]) for s in recorder.of_type("stock.level")}
    for s in recorder.of_type("shipment.short-picked"):
        keys |= {(s.data["location_id"], line["sku"]) for line in s.data["lines"]}
    return keys


def check_stock(world: World, recorder: Recorder, verdict: Verdict) -> None:
    """Free + allocated from stock + what stowed supply covered = stowed, per key (I1)."""
    stowed: Counter[tuple[str, str]] = Counter()
    for s in recorder.of_type("stock.stowed"):
        stowed[(s.data["location_id"], s.data["sku"])] += int(s.data["quantity"])
    free = {
        (loc, sku): int(n)
        for loc, sku, n in world.sql("select location_id, sku, free from stock_positions")
    }
    taken = Counter(
        {
            (loc, sku): int(n)
            for loc, sku, n in world.sql(
                "select location_id, sku, sum(quantity) from allocations"
                " where supply_id is null group by location_id, sku"
            )
        }
    )
    covered: Counter[tuple[str, str]] = Counter()
    for loc, sku, promised_ever, promised_now in world.sql(
        "select s.location_id, s.sku, coalesce(sum(a.quantity), 0), s.promised"
        " from supplies s left join allocations a on a.supply_id = s.supply_id"
        " group by s.supply_id, s.location_id, s.sku, s.promised"
    ):
        covered[(loc, sku)] += int(promised_ever) - int(promised_now)
    adjusted = _adjusted_keys(recorder)
    for key in set(stowed) | set(free) | set(taken):
        if free.get(key, 0) < 0:
            verdict.fail("duplicated", f"negative free stock at {key}")
        if key in adjusted:
            continue
        accounted = free.get(key, 0) + taken[key] + covered[key]
        if accounted != stowed[key]:
            verdict.fail(
                "duplicated" if accounted > stowed[key] else "lost",
                f"stock at {key}: stowed {stowed[key]}, free {free.get(key, 0)} + "
                f"allocated {taken[key]} + covered {covered[key]} = {accounted}",
            )


def check_supplies(world: World, recorder: Recorder, verdict: Verdict) -> None:
    """Promised never exceeds the supply, unless an update lowered it below the promises."""
    announced: dict[str, list[int]] = defaultdict(list)
    for s in recorder.of_type("future-inventory.updated"):
        announced[s.data["supply_id"]].append(int(s.data["quantity"]))
    for supply_id, quantity, promised in world.sql(
        "select supply_id, quantity, promised from supplies"
    ):
        lowered = len(set(announced[supply_id])) > 1
        limit = max(announced[supply_id], default=quantity) if lowered else quantity
        if promised > limit:
            verdict.fail("duplicated", f"supply {supply_id}: {promised} promised of {quantity}")


def check_nothing_releasable(world: World, verdict: Verdict) -> None:
    """I3 at quiescence, by the oracle: current stock and usable future supply, bundles,
    BOPIS, per-location listings and split or not (`releasable.py`)."""
    for shipment_id, need in stranded(world):
        verdict.fail("lost", f"waiting shipment {shipment_id} could be completed: {need}")
