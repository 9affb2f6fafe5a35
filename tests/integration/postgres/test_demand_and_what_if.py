"""`demand` and `what-if` on real Postgres: the purchasing view of the waiting room, and
the worker's own round run on a hypothetical event and rolled back.

`what-if` is checked against what then really happens: the same event applied for real
releases exactly the shipments it announced, and before that the database is byte for
byte what it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from backorder_worker.adapters.postgres.demand import SkuDemand, waiting_demand
from backorder_worker.adapters.postgres.overdue import flag_overdue
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.adapters.postgres.tables import metadata
from backorder_worker.domain.model import FulfillmentType
from backorder_worker.entrypoints.cli import main
from backorder_worker.entrypoints.commands.what_if import what_if
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.results import Applied
from backorder_worker.settings import DatabaseSettings, Settings
from tests.integration.postgres.conftest import TOPICS
from tests.support.driver import T0, Driver, order


@pytest.fixture
def settings(migrated_url: str) -> Settings:
    return Settings(database=DatabaseSettings(url=migrated_url), topics=TOPICS)


@pytest.fixture
def room(uow: PostgresUnitOfWork) -> Driver:
    """S-1 (2 KTP), S-2 (3 KTP, due after one day), S-4 (1 KTP) ship to home; S-3 (1 KTP2)
    is picked up at B. Nothing in stock."""
    feed = Driver(uow)
    feed.seed_catalog(skus=("KTP", "KTP2"))
    feed.apply(order("S-1", ("KTP", 2)))
    feed.apply(order("S-2", ("KTP", 3), backorder_days=1))
    feed.apply(
        order(
            "S-3",
            ("KTP2", 1),
            fulfillment_type=FulfillmentType.BOPIS,
            pickup_location_id="B",
        )
    )
    feed.apply(order("S-4", ("KTP", 1)))
    return feed


@pytest.fixture
def cli(settings: Settings) -> Iterator[CliRunner]:
    yield CliRunner(env={"BACKORDER_DATABASE__URL": settings.database.url, "BACKORDER_CONFIG": ""})


def snapshot(engine: sa.Engine) -> dict[str, str]:
    """Every table's rows, hashed: equal snapshots mean nothing was written."""
    digest = "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t"
    hashes = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            hashes[table.name] = conn.execute(sa.text(digest.format(table.name))).scalar_one()
    return hashes


def test_demand_sums_units_and_shipments_per_sku_and_bopis_location_largest_first(
    engine: sa.Engine, room: Driver
) -> None:
    flag_overdue(engine, room.clock + timedelta(days=2))

    demand = waiting_demand(engine)

    assert demand == [
        SkuDemand("KTP", None, 6, 3, T0 + timedelta(minutes=5), 1),
        SkuDemand("KTP2", "B", 1, 1, T0 + timedelta(minutes=7), 0),
    ]


def test_the_demand_command_prints_a_table_and_json(
    engine: sa.Engine, room: Driver, cli: CliRunner
) -> None:
    table = cli.invoke(main, ["demand"])
    as_json = cli.invoke(main, ["demand", "--json", "--sku", "KTP2"])

    assert table.exit_code == 0, table.output
    header, first, second = table.output.splitlines()
    assert header.split()[:4] == ["SKU", "LOCATION", "UNITS", "SHIPMENTS"]
    assert first.split()[:5] == ["KTP", "any", "(STH)", "6", "3"]
    assert second.split()[:4] == ["KTP2", "B", "1", "1"]
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["demand"] == [
        {
            "sku": "KTP2",
            "location_id": "B",
            "units": 1,
            "shipments": 1,
            "oldest_entered_at": (T0 + timedelta(minutes=7)).isoformat(),
            "overdue": 0,
        }
    ]


def test_what_if_names_what_a_stow_would_release_writes_nothing_and_reality_agrees(
    engine: sa.Engine, room: Driver, settings: Settings
) -> None:
    before = snapshot(engine)
    stow = {"location_id": "A", "sku": "KTP", "quantity": 3}

    answer = what_if(engine, settings, "stock.stowed", stow, room.clock)

    assert snapshot(engine) == before
    assert [d.parent.shipment_id for d in answer.released] == ["S-1", "S-4"]
    assert [d.shipment.shipment_id for d in answer.still_waiting] == ["S-2"]
    real = room.apply(c.StowStock("A", "KTP", 3), at=room.clock)
    assert isinstance(real, Applied)
    released = [d.parent.shipment_id for d in real.decisions if hasattr(d, "parent")]
    assert released == ["S-1", "S-4"]


def test_what_if_future_supply_releases_against_it_and_refuses_a_mismatch(
    engine: sa.Engine, room: Driver, settings: Settings
) -> None:
    soon = (room.clock + timedelta(days=5)).date().isoformat()
    supply = {"supply_id": "PO-1", "location_id": "A", "sku": "KTP", "quantity": 2}
    room.apply(c.AnnounceSupply("PO-9", "B", "KTP2", 0, (room.clock + timedelta(days=5)).date()))
    before = snapshot(engine)

    answer = what_if(
        engine, settings, "future-inventory.updated", {**supply, "expected_date": soon}, room.clock
    )
    stowed_elsewhere = {"location_id": "A", "sku": "KTP", "quantity": 1, "supply_id": "PO-9"}
    refused = what_if(engine, settings, "stock.stowed", stowed_elsewhere, room.clock)

    assert snapshot(engine) == before
    assert [(d.parent.shipment_id, d.release.value) for d in answer.released] == [("S-1", "FUTURE")]
    assert refused.refused is not None and "PO-9" in refused.refused


def test_the_what_if_command_prints_the_shipments_and_says_nothing_was_written(
    engine: sa.Engine, room: Driver, cli: CliRunner
) -> None:
    before = snapshot(engine)
    args = ["what-if", "stock.stowed", "--sku", "KTP", "--location", "A", "--quantity", "3"]

    text = cli.invoke(main, args)
    as_json = cli.invoke(main, [*args, "--json"])
    bad = cli.invoke(main, [*args[:-1], "0"])

    assert text.exit_code == 0, text.output
    assert text.output.startswith("would release 2 shipments (3 units):\n")
    assert "reached but still waiting: S-2" in text.output
    assert text.output.rstrip().endswith("(a dry run: nothing was written or published)")
    listed = json.loads(as_json.output)
    assert [r["shipment_id"] for r in listed["released"]] == ["S-1", "S-4"]
    assert listed["released"][0]["shipments"][0]["lines"] == [
        {"line_id": "S-1-1", "sku": "KTP", "quantity": 2}
    ]
    assert listed["written"] is False
    assert bad.exit_code == 2 and "quantity" in bad.output
    assert snapshot(engine) == before
