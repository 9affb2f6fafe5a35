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
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition

from backorder_worker.adapters.kafka.reader import TopicReader
from backorder_worker.adapters.kafka.records import PartitionId, SourceRecord
from backorder_worker.entrypoints.worker.translate import to_envelope
from backorder_worker.settings import KafkaSettings, kafka_security_kwargs
from backorder_worker.wire import decode_event
from tests.e2e.support import World
from tests.reliability.recorder import APPLIED, Recorder, Sent
from tests.reliability.releasable import stranded

RELEASED_STATES = ("READY", "FUTURE")
PARENT_RELEASED_STATES = ("READY", "REASSIGNED")


@dataclass
class Verdict:
    """What the checker saw; `lost` and `duplicated` are asserted to be 0."""

    inputs: int = 0
    applied: int = 0
    dead_lettered: int = 0
    releases: int = 0
    unroutable_events: int = 0
    output_records: int = 0
    republished_copies: int = 0  # at-least-once delivery: same id, same bytes, again
    lost: int = 0
    duplicated: int = 0
    waited_s: float = 0.0
    quiet_at: float = 0.0  # time.monotonic() when the lag was 0 and the outbox published
    problems: list[str] = field(default_factory=list)
    found: Counter[str] = field(default_factory=Counter)  # problems per check (`CHECKS`)

    def fail(self, kind: str, message: str) -> None:
        if kind == "lost":
            self.lost += 1
        elif kind == "duplicated":
            self.duplicated += 1
        self.problems.append(f"{kind}: {message}")


# --- the broker side -------------------------------------------------------------------


def read_to_end(
    settings: KafkaSettings, topics: Sequence[str], timeout_s: float = 30.0
) -> list[SourceRecord]:
    """Every record of `topics`, read until each partition's position reaches the high
    watermark of a fetch response (`end_offsets` is wrong on Tansu: DEVSTACK.md)."""
    reader = TopicReader(settings, topics)
    records: list[SourceRecord] = []
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            records += reader.poll(200)
            if all(_at_end(reader, p) for p in reader.assigned):
                return records
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topics} to their end in {timeout_s} s")
    finally:
        reader.close()


def _at_end(reader: TopicReader, partition: PartitionId) -> bool:
    highwater = reader.highwater(partition)
    return highwater is not None and reader.position(partition) >= highwater


def highwaters(settings: KafkaSettings, topics: Sequence[str]) -> dict[PartitionId, int]:
    reader = TopicReader(settings, topics)
    try:
        deadline = time.monotonic() + 15
        while True:
            reader.poll(100)
            found = {p: reader.highwater(p) for p in reader.assigned}
            if all(v is not None for v in found.values()):
                return {p: int(v) for p, v in found.items() if v is not None}
            if time.monotonic() > deadline:
                raise AssertionError(f"no high watermark for some partition of {topics}")
    finally:
        reader.close()


def committed_offsets(settings: KafkaSettings, partitions: Iterable[PartitionId]) -> dict:
    """The group's committed offsets, read with the group id but without joining the group
    (kafka-python's `describe_groups` fails on Tansu)."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.group_id,
        enable_auto_commit=False,
        **kafka_security_kwargs(settings),
    )
    try:
        return {p: consumer.committed(TopicPartition(p.topic, p.partition)) for p in partitions}
    finally:
        consumer.close(autocommit=False)


def consumer_lag(world: World, topics: Sequence[str]) -> dict[PartitionId, int]:
    """High watermark minus committed offset, per input partition (0: fully consumed)."""
    ends = highwaters(world.settings.kafka, topics)
    committed = committed_offsets(world.settings.kafka, ends)
    return {p: end - (committed.get(p) or 0) for p, end in ends.items()}


def wait_quiescent(world: World, recorder: Recorder, timeout_s: float = 60.0) -> float:
    """Waits until the consumer lag is 0 on every input partition and the outbox is empty
    of unpublished rows; returns the seconds it took."""
    started = time.monotonic()
    deadline = started + timeout_s
    lag: dict[PartitionId, int] = {}
    unpublished = -1
    while time.monotonic() < deadline:
        lag = consumer_lag(world, recorder.input_topics)
        if not any(lag.values()):
            [(unpublished,)] = world.sql("select count(*) from outbox where published_at is null")
            if unpublished == 0:
                return time.monotonic() - started
        time.sleep(0.25)
    behind = {str(p): n for p, n in lag.items() if n}
    raise AssertionError(
        f"not quiet after {timeout_s} s: lag {behind}, unpublished outbox rows {unpublished}"
    )


# --- the checks --------------------------------------------------------------------------


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
        lambda: _check_inputs(world, recorder.sent, letters, verdict),
        lambda: _check_outputs(world, outputs, letters, verdict),
        lambda: _check_allocations(world, verdict),
        lambda: _check_stock(world, recorder, verdict),
        lambda: _check_supplies(world, recorder, verdict),
        lambda: _check_nothing_releasable(world, verdict),
    )
    for name, run in zip(CHECKS, checks, strict=True):
        before = len(verdict.problems)
        run()
        verdict.found[name] += len(verdict.problems) - before
    return verdict


def digest_of(value: bytes) -> str:
    return to_envelope(decode_event(value, None)).digest


def _letter_positions(letters: Sequence[SourceRecord]) -> dict[tuple[str, int, int], set[str]]:
    found: dict[tuple[str, int, int], set[str]] = defaultdict(set)
    for letter in letters:
        h = {name: (raw or b"").decode() for name, raw in letter.headers}
        position = (h["source.topic"], int(h["source.partition"]), int(h["source.offset"]))
        found[position].add(h["error.type"])
    return found


def _check_inputs(
    world: World, sent: Sequence[Sent], letters: Sequence[SourceRecord], verdict: Verdict
) -> None:
    inbox = dict(world.sql("select event_id, digest from inbox"))
    dead = _letter_positions(letters)
    for s in sent:
        where = f"{s.event_type or 'raw'} {s.event_id} at {s.position}"
        if s.expect == APPLIED:
            if s.position in dead:
                verdict.fail("lost", f"{where} was dead-lettered: {sorted(dead[s.position])}")
            elif s.event_id not in inbox:
                verdict.fail("lost", f"{where} was never applied")
            elif inbox[s.event_id] != digest_of(s.value):
                verdict.fail("lost", f"{where}: the inbox holds other content under its id")
            else:
                verdict.applied += 1
        elif s.expect not in dead.get(s.position, set()):
            verdict.fail(
                "lost", f"{where}: no dead letter {s.expect!r} (got {dead.get(s.position)})"
            )
        else:
            verdict.dead_lettered += 1
    expected = {s.position for s in sent if s.expect != APPLIED}
    for position in set(dead) - expected:
        verdict.fail("lost", f"an input at {position} was dead-lettered: {dead[position]}")


def _check_outputs(
    world: World,
    outputs: Sequence[SourceRecord],
    letters: Sequence[SourceRecord],
    verdict: Verdict,
) -> None:
    [(unpublished,)] = world.sql("select count(*) from outbox where published_at is null")
    if unpublished:
        verdict.fail("lost", f"{unpublished} outbox rows never published")
    copies: dict[str, set[bytes]] = defaultdict(set)
    count: Counter[str] = Counter()
    releases_of: dict[str, set[str]] = defaultdict(set)
    for record in outputs:
        event = json.loads(record.value or b"null")
        copies[event["id"]].add(record.value or b"")
        count[event["id"]] += 1
        if event["type"] == "shipment.released":
            releases_of[event["data"]["shipment_id"]].add(event["id"])
    verdict.republished_copies = sum(n - 1 for n in count.values())
    for event_id, values in copies.items():
        if len(values) > 1:
            verdict.fail("duplicated", f"output id {event_id} published with {len(values)} bodies")
    for shipment_id, ids in releases_of.items():
        if len(ids) > 1:
            verdict.fail("duplicated", f"shipment {shipment_id} released as {sorted(ids)}")
    verdict.releases = len(releases_of)
    verdict.unroutable_events = len(copies) - len(releases_of)

    decided = {
        event_id
        for (event_id,) in world.sql("select event_id from outbox where event_id is not null")
    }
    published = set(copies)
    for event_id in sorted(decided - published):
        verdict.fail("lost", f"decision {event_id} is in the outbox but not on its topic")
    for event_id in sorted(published - decided):
        verdict.fail("duplicated", f"output {event_id} on a topic was never decided")
    history = {
        detail["output_event_id"]
        for (detail,) in world.sql("select detail from shipment_history")
        if detail.get("output_event_id")
    }
    if history != decided:
        verdict.fail(
            "lost",
            f"shipment history and outbox disagree: {sorted(history ^ decided)[:10]}",
        )
    queued_letters = {
        _position_from_outbox_headers(headers)
        for (headers,) in world.sql("select headers from outbox where event_id is null")
    }
    if queued_letters != set(_letter_positions(letters)):
        verdict.fail("lost", "dead letters in the outbox and on the topic differ")


def _position_from_outbox_headers(headers: list[list[str]]) -> tuple[str, int, int]:
    import base64

    h = {name: base64.b64decode(raw).decode() for name, raw in headers}
    return (h["source.topic"], int(h["source.partition"]), int(h["source.offset"]))


def _check_allocations(world: World, verdict: Verdict) -> None:
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


def _check_stock(world: World, recorder: Recorder, verdict: Verdict) -> None:
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


def _check_supplies(world: World, recorder: Recorder, verdict: Verdict) -> None:
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


def _check_nothing_releasable(world: World, verdict: Verdict) -> None:
    """I3 at quiescence, by the oracle: current stock and usable future supply, bundles,
    BOPIS, per-location listings and split or not (`releasable.py`)."""
    for shipment_id, need in stranded(world):
        verdict.fail("lost", f"waiting shipment {shipment_id} could be completed: {need}")
