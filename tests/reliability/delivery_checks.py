"""The checks of what came in and what went out (SPEC I1, at-least-once without doubles).

Nothing lost: every valid input is in the inbox with its own content's digest; every bad
one is a dead letter (by source topic, partition and offset) with the expected
`error.type`. Nothing twice: every copy of an output id carries the same bytes, one
release id per shipment; every outbox row is published, and the published ids equal the
decisions in Postgres (outbox and shipment history); the dead letters queued in the outbox
are those on the topic.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence

from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.entrypoints.worker.translate import to_envelope
from backorder_worker.wire import decode_event
from tests.e2e.support import World
from tests.reliability.recorder import APPLIED, Sent
from tests.reliability.verdict import Verdict


def digest_of(value: bytes) -> str:
    return to_envelope(decode_event(value, None)).digest


def _letter_positions(letters: Sequence[SourceRecord]) -> dict[tuple[str, int, int], set[str]]:
    found: dict[tuple[str, int, int], set[str]] = defaultdict(set)
    for letter in letters:
        h = {name: (raw or b"").decode() for name, raw in letter.headers}
        position = (h["source.topic"], int(h["source.partition"]), int(h["source.offset"]))
        found[position].add(h["error.type"])
    return found


def check_inputs(
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


def check_outputs(
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
