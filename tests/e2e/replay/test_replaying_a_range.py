"""`replay` of an offset or time range against the real stack: a fresh database, Redis,
the Tansu broker and the same pipeline as the worker, read outside the worker's consumer
group.

State is built the way an operator would after an incident: inputs are on their topics and
a replay applies them, once however often it runs; a dry run only reports. Records go to
partition 0 unless a test says otherwise, so offsets are known; timestamps are set by the
producer where time matters.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from kafka import KafkaProducer

from backorder_worker.bootstrap import Services
from backorder_worker.entrypoints.worker.replay_range import ReplayProgress
from tests.e2e.replay.support import (
    NOW,
    a_waiting_shipment,
    drain,
    free_stock,
    output_ids,
    run,
    send_event,
    state,
    stow,
)
from tests.e2e.support import World


def test_replay_by_offset_range_applies_the_events_and_publishes_the_release(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    a_waiting_shipment(world, services, producer)
    send_event(producer, world.settings.topics.stock_stowed, "stock.stowed", stow(5))
    send_event(producer, world.settings.topics.stock_stowed, "stock.stowed", stow(7))

    summary = run(world, services, "stock_stowed", from_offset=0, to_offset=0)

    assert (summary.read, summary.applied, summary.published) == (1, 1, 1)
    assert state(world, "S-1") == "READY" and free_stock(world) == 0  # the 7 are past --to-offset
    [released] = [json.loads(r.value or b"") for r in drain(world, "shipment_released")]
    assert released["type"] == "shipment.released"
    assert released["data"]["shipment_id"] == "S-1"
    assert {r.key for r in drain(world, "still_unroutable")} == {b"O-S-1"}  # S-1 entered waiting


def test_replaying_the_same_range_again_changes_nothing_and_publishes_no_new_ids(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    a_waiting_shipment(world, services, producer)
    send_event(producer, world.settings.topics.stock_stowed, "stock.stowed", stow(8))
    run(world, services, "stock_stowed", from_offset=0)
    ids_before, free_before = output_ids(world), free_stock(world)

    again = [
        run(world, services, t, from_offset=0) for t in ("catalog", "shipments", "stock_stowed")
    ]

    assert [(s.applied, s.already_applied, s.published) for s in again] == [
        (0, 2, 0),
        (0, 1, 0),
        (0, 1, 0),
    ]
    assert output_ids(world) == ids_before and len(ids_before) == 2
    assert free_stock(world) == free_before == 3 and state(world, "S-1") == "READY"


def test_replay_by_time_applies_only_records_at_or_after_it_though_offsets_for_times_is_wrong(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    # Written now, stamped in the past and future, out of order: Tansu's time index answers
    # by write time (offset 0 for every T here), so only the replay's own filter is right.
    topic = world.settings.topics.stock_stowed
    stamps = {1: -timedelta(days=2), 10: -timedelta(hours=1), 100: -timedelta(days=3)}
    for quantity, stamp in {**stamps, 1000: timedelta(days=1)}.items():
        moment = int((NOW + stamp).timestamp() * 1000)
        send_event(producer, topic, "stock.stowed", stow(quantity), timestamp_ms=moment)

    future = run(world, services, "stock_stowed", from_time=NOW + timedelta(hours=12))
    assert (future.read, future.applied, future.skipped_before_from) == (4, 1, 3)
    assert free_stock(world) == 1000

    # --to ends the partition at its first later record (the one stamped tomorrow).
    window = run(world, services, "stock_stowed", from_time=NOW - timedelta(days=1), to_time=NOW)
    assert (window.read, window.applied, window.skipped_before_from) == (3, 1, 2)
    assert free_stock(world) == 1010


def test_partition_restricts_the_replay_to_the_chosen_partitions(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    topic = world.settings.topics.stock_stowed
    for partition, quantity in [(0, 1), (1, 10), (2, 100)]:
        send_event(producer, topic, "stock.stowed", stow(quantity), partition=partition)

    summary = run(world, services, "stock_stowed", from_offset=0, partitions=[1, 3])

    assert (summary.read, summary.applied) == (1, 1) and free_stock(world) == 10


def test_a_dry_run_changes_nothing_and_publishes_nothing_but_reports_what_would_apply(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    a_waiting_shipment(world, services, producer)
    send_event(producer, world.settings.topics.stock_stowed, "stock.stowed", stow(5))
    tables = ("inbox", "outbox", "allocations", "stock_positions", "shipment_history")
    counts = " union all ".join(f"select '{t}', count(*) from {t}" for t in tables)
    before, ids_before = world.sql(counts), output_ids(world)
    seen: list[ReplayProgress] = []

    dry = run(world, services, "stock_stowed", from_offset=0, dry_run=True, progress=seen.append)

    assert (dry.applied, dry.published, dry.dry_run) == (1, 0, True)
    assert "dry run" in dry.line() and seen[-1].partitions_done == seen[-1].partitions == 4
    assert world.sql(counts) == before and output_ids(world) == ids_before
    assert state(world, "S-1") == "WAITING"
    assert run(world, services, "stock_stowed", from_offset=0).applied == 1  # left unclaimed


def test_the_command_line_replays_an_offset_range_and_prints_progress_and_a_summary(
    world: World, services: Services, producer: KafkaProducer
) -> None:
    a_waiting_shipment(world, services, producer)
    topic = world.settings.topics.stock_stowed
    for quantity in (5, 7):
        send_event(producer, topic, "stock.stowed", stow(quantity))
    command = [str(Path(sys.executable).parent / "backorder-worker"), "--text-logs", "replay"]
    # The topic by its setting's name: `stock-stowed` is whatever the settings call it.
    options = ["--topic", "stock-stowed", "--from-offset", "0", "--to-offset", "0"]
    options += ["--partition", "0"]

    done = subprocess.run(
        command + options, env=world.env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == (
        "replay: read=1 applied=1 already_applied=0 invalid=0 skipped=0 published=1"
    )
    assert "1/1 partitions done" in done.stderr
    assert state(world, "S-1") == "READY" and free_stock(world) == 0
