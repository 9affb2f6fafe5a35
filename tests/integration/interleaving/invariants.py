"""I1, I2 and I3 (by the independent oracle) on the committed state after a schedule."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa

from backorder_worker.domain.model import ReleasePolicy
from tests.integration.interleaving.oracle_world import world_from_postgres
from tests.oracle.search import completable

RELEASED_STATES = ("READY", "FUTURE")


def problems(
    conn: sa.Connection,
    stowed: Counter[tuple[str, str]],
    levelled: set[tuple[str, str]],
    event_ids: Iterable[str],
    may_reject: Iterable[str],
    today: date,
    policy: ReleasePolicy | None = None,
) -> list[str]:
    """What is wrong: ``stowed`` units per (location, SKU) made available by the applied
    events, ``levelled`` the positions an absolute level set, ``event_ids`` every event the
    schedule's batches and set-up applied (each must be in the inbox, none dead-lettered
    but those ``may_reject`` names, which some orders rightly refuse)."""
    found: list[str] = []
    found += _no_oversell(conn, stowed, levelled)
    found += _released_once(conn)
    found += _applied_once(conn, set(event_ids), set(may_reject))
    world, waiting = world_from_postgres(conn, today, policy)
    found += [f"I3: waiting {s} could be completed" for s in completable(world, waiting)]
    return found


def _rows(conn: sa.Connection, query: str) -> list[sa.Row]:  # type: ignore[type-arg]
    return list(conn.execute(sa.text(query)).all())


def _no_oversell(
    conn: sa.Connection, stowed: Counter[tuple[str, str]], levelled: set[tuple[str, str]]
) -> list[str]:
    """I1: per position, free + assigned from it (+ what stowed supply covered) = what was
    made available, free never negative; per supply, what is promised from it is of its
    own SKU and location and at most its quantity."""
    found = []
    free = {
        (r[0], r[1]): int(r[2])
        for r in _rows(conn, "SELECT location_id, sku, free FROM stock_positions")
    }
    taken: Counter[tuple[str, str]] = Counter()
    for loc, sku, units in _rows(
        conn,
        "SELECT location_id, sku, sum(quantity) FROM allocations WHERE supply_id IS NULL"
        " GROUP BY location_id, sku",
    ):
        taken[(loc, sku)] += int(units)
    covered: Counter[tuple[str, str]] = Counter()
    for r in _rows(
        conn,
        "SELECT s.supply_id, s.location_id, s.sku, s.quantity, s.promised,"
        " coalesce(sum(a.quantity), 0) AS drawn,"
        " count(*) FILTER (WHERE a.sku <> s.sku OR a.location_id <> s.location_id) AS foreign_"
        " FROM supplies s LEFT JOIN allocations a ON a.supply_id = s.supply_id"
        " GROUP BY s.supply_id",
    ):
        covered[(r.location_id, r.sku)] += int(r.drawn) - int(r.promised)
        if r.promised > r.quantity:
            found.append(f"I1: supply {r.supply_id} promises {r.promised} of {r.quantity}")
        if r.foreign_:
            found.append(
                f"I1: supply {r.supply_id} ({r.sku} at {r.location_id}) has units of another"
                " SKU or location promised from it"
            )
    for key in set(stowed) | set(free) | set(taken):
        if free.get(key, 0) < 0:
            found.append(f"I1: negative free stock at {key}")
        if key in levelled:
            continue
        accounted = free.get(key, 0) + taken[key] + covered[key]
        if accounted != stowed[key]:
            found.append(
                f"I1: stock at {key}: made available {stowed[key]}, but free {free.get(key, 0)}"
                f" + assigned {taken[key]} + covered {covered[key]} = {accounted}"
            )
    return found


def _released_once(conn: sa.Connection) -> list[str]:
    """I2: one release per shipment (history and outbox), never a cancelled one; a released
    shipment holds exactly its lines, any other nothing."""
    found = []
    for shipment_id, n in _rows(
        conn,
        "SELECT shipment_id, count(*) FROM shipment_history"
        " WHERE detail->>'outcome' = 'released' GROUP BY shipment_id HAVING count(*) > 1",
    ):
        found.append(f"I2: {shipment_id} released {n} times in its history")
    releases: dict[str, set[str]] = defaultdict(set)
    for (value,) in _rows(conn, "SELECT value FROM outbox WHERE event_id IS NOT NULL"):
        event = json.loads(bytes(value))
        if event["type"] == "shipment.released":
            releases[event["data"]["shipment_id"]].add(event["id"])
    for shipment_id, ids in releases.items():
        if len(ids) > 1:
            found.append(f"I2: {shipment_id} released as {sorted(ids)}")
    held: dict[str, Counter[str]] = defaultdict(Counter)
    for shipment_id, sku, units in _rows(
        conn, "SELECT shipment_id, sku, sum(quantity) FROM allocations GROUP BY shipment_id, sku"
    ):
        held[shipment_id][sku] += int(units)
    cancelled_waiting = {  # a shipment cancelled after its release keeps the release
        r[0]
        for r in _rows(
            conn,
            "SELECT shipment_id FROM shipment_history WHERE detail->>'outcome' = 'cancelled'"
            " AND detail->>'previous_state' = 'WAITING'",
        )
    }
    for shipment_id, state, lines in _rows(conn, "SELECT shipment_id, state, lines FROM shipments"):
        holds = held.pop(shipment_id, Counter())
        if state == "CANCELLED" and shipment_id not in cancelled_waiting:
            continue  # released, then cancelled: its release stands (R11 takes back nothing)
        if shipment_id in cancelled_waiting and shipment_id in releases:
            found.append(f"I2: {shipment_id} was released after it was cancelled waiting")
        wanted: Counter[str] = Counter()
        if state in RELEASED_STATES:
            for line in lines:
                wanted[line["sku"]] += int(line["quantity"])
        if holds != wanted:
            found.append(f"I2: {state} {shipment_id} holds {dict(holds)}, not {dict(wanted)}")
    found += [f"I2: unknown {s} holds {dict(h)}" for s, h in held.items()]
    return found


def _applied_once(conn: sa.Connection, event_ids: set[str], may_reject: set[str]) -> list[str]:
    """Every event applied (its id in the inbox) or, for those that ``may_reject`` names,
    dead-lettered instead; no other dead letter."""
    inbox = {r[0] for r in _rows(conn, "SELECT event_id FROM inbox")}
    rejected = {
        json.loads(bytes(value))["id"]
        for (value,) in _rows(conn, "SELECT value FROM outbox WHERE event_id IS NULL")
    }
    found = [f"event {e} was dead-lettered" for e in sorted(rejected - may_reject)]
    missing = event_ids - inbox - (rejected & may_reject)
    return found + [f"event {e} was never applied" for e in sorted(missing)]
