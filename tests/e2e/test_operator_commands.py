"""The operators' commands as processes against a real database and broker: `waiting`
lists and explains, `reevaluate --dry-run` changes nothing, `reevaluate` releases what a
settings change made possible and publishes it before it exits."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from backorder_worker.adapters.event_codec import decision_encoder
from backorder_worker.adapters.postgres.engine import make_engine
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.service_layer import commands as c
from tests.e2e.support import World
from tests.support.driver import Driver, order

# `backorder-worker` with the two commands registered, whether cli.py does it yet or not.
_LAUNCH = """
from backorder_worker.entrypoints.cli import main
from backorder_worker.entrypoints.commands import reevaluate, waiting
for command in (waiting.command, reevaluate.command):
    if command.name not in main.commands:
        main.add_command(command)
main(prog_name="backorder-worker")
"""


def cli(world: World, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _LAUNCH, "--text-logs", *args],
        env={**world.env, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def waiting_room(world: World) -> Iterator[World]:
    """S-1 waits for KTP, which a supply brings in 40 days (beyond the 30-day limit); S-2
    waits for KTP2, which nothing brings."""
    engine = make_engine(world.settings.database.url)
    topics = world.settings.topics
    uow = PostgresUnitOfWork(engine, topics, encode=decision_encoder(topics))
    feed = Driver(uow, clock=datetime.now(UTC))
    feed.seed_catalog(skus=("KTP", "KTP2"))
    feed.apply(order("S-1", ("KTP", 2)))
    feed.apply(order("S-2", ("KTP2", 1)))
    far = datetime.now(UTC).date() + timedelta(days=40)
    feed.apply(c.AnnounceSupply("PO-1", "A", "KTP", 2, far))
    yield world
    engine.dispose()


def test_waiting_lists_the_room_and_explains_one_shipment(waiting_room: World) -> None:
    table = cli(waiting_room, "waiting")
    one = cli(waiting_room, "waiting", "S-1")
    as_json = cli(waiting_room, "waiting", "--sku", "KTP2", "--json")
    unknown = cli(waiting_room, "waiting", "S-404")

    assert table.returncode == 0, table.stderr
    assert "S-1" in table.stdout and "S-2" in table.stdout
    assert "2 of 2 waiting shipments shown" in table.stdout
    assert one.returncode == 0, one.stderr
    assert "Shipment S-1 (order O-S-1): WAITING" in one.stdout
    assert "complete-stock" in one.stdout and "shipment.created" in one.stdout
    assert "Live check now" in one.stdout and "still WAITING" in one.stdout
    listed = json.loads(as_json.stdout)
    assert [s["shipment_id"] for s in listed["shipments"]] == ["S-2"]
    assert listed["shipments"][0]["reasons"][0]["sku"] == "KTP2"
    assert unknown.returncode == 1
    assert "S-404 is unknown" in unknown.stderr


def test_reevaluate_dry_run_reports_and_changes_nothing(waiting_room: World) -> None:
    wider = {"BACKORDER_SITE__FUTURE_DATE_LIMIT_DAYS": "60"}

    dry = cli(waiting_room, "reevaluate", "--dry-run", "--json", **wider)

    assert dry.returncode == 0, dry.stderr
    summary = json.loads(dry.stdout)
    assert (summary["evaluated"], summary["released"], summary["still_waiting"]) == (2, 1, 1)
    states = waiting_room.sql("select shipment_id, state from shipments order by 1")
    assert [tuple(row) for row in states] == [("S-1", "WAITING"), ("S-2", "WAITING")]


def test_reevaluate_after_raising_the_date_limit_releases_and_publishes(
    waiting_room: World,
) -> None:
    wider = {"BACKORDER_SITE__FUTURE_DATE_LIMIT_DAYS": "60"}

    done = cli(waiting_room, "reevaluate", "--run-id", "after-settings-change", **wider)

    assert done.returncode == 0, done.stderr
    assert "1 released, 1 still waiting" in done.stdout
    assert "published 2 of 2 output events" in done.stdout
    released = waiting_room.outputs("shipment_released")
    assert [(e["data"]["shipment_id"], e["data"]["release"]) for e in released] == [
        ("S-1", "FUTURE")
    ]
    assert released[0]["data"]["trigger"] == {"id": "after-settings-change", "type": "reevaluate"}
    published = "select count(*) from outbox where published_at is not null"
    assert waiting_room.sql(published)[0][0] == 2  # the run's two; the feed's are not ours
