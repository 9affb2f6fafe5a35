"""The in-memory fake and the Postgres store keep the same promises for the rules of
issue 11: one history of short picks, cancels and supply cuts, fed to both through the
real handlers, leaves the same shipments, stock and published event ids."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from backorder_worker.adapters.postgres.outbox import PostgresOutbox
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.adapters.postgres.tables import shipments, stock_positions, supplies
from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.service_layer import commands as c
from tests.fakes import FakeUnitOfWork
from tests.support.driver import Driver, order

EXPECTED = date(2026, 5, 10)


def short(shipment_id: str, location_id: str, line_id: str, sku: str, missing: int) -> c.Command:
    return c.ReportShortPick(
        shipment_id, f"O-{shipment_id}", location_id, (c.ShortPickedLine(line_id, sku, missing),)
    )


HISTORY: list[c.Command] = [
    c.StowStock("A", "KTP", 6),
    c.StowStock("B", "KTP2", 1),
    c.AnnounceSupply("PO-1", "B", "KTP", 4, EXPECTED),
    order("S-1", ("KTP", 4), ("KTP2", 2)),  # KTP at A, KTP2 x1 at B, the rest split off
    order("S-2", ("KTP", 5)),  # 2 at A, 3 from PO-1
    short("S-1-R1", "A", "S-1-1", "KTP", 3),
    short("S-1-R1", "B", "S-1-1", "KTP", 1),  # refused: released to A
    short("S-1-R1", "A", "S-1-1", "KTP", 2),  # refused: 1 left to pick
    short("S-1-R1-SP1", "A", "S-1-1", "KTP", 1),  # refused: its parts went out (REASSIGNED)
    short("S-1-R1-SP1-R1", "B", "S-1-1", "KTP", 1),  # its FUTURE part: nothing left at all
    c.AnnounceSupply("PO-1", "B", "KTP", 1, EXPECTED),  # cut below what it promised
    c.CancelShipment("S-1", "O-S-1"),
    c.StowStock("A", "KTP2", 5),
]


@pytest.mark.parametrize("allow_skip", [True, False])
def test_the_fake_and_postgres_agree_on_short_picks_cancels_and_supply_cuts(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox, engine: sa.Engine, allow_skip: bool
) -> None:
    policy = ReleasePolicy(allow_skip=allow_skip)
    fake = FakeUnitOfWork()
    on_fake, on_postgres = Driver(fake, policy), Driver(uow, policy)
    outcomes = []
    for feed in (on_fake, on_postgres):
        feed.seed_catalog(skus=("KTP", "KTP2"))
        outcomes.append([type(feed.apply(command)).__name__ for command in HISTORY])
    assert outcomes[0] == outcomes[1] and outcomes[0].count("Rejected") == 3

    assert _postgres_shipments(engine) == _fake_shipments(fake)
    with engine.connect() as conn:
        stock = {(r.location_id, r.sku): r.free for r in conn.execute(sa.select(stock_positions))}
        promised = {r.supply_id: r.promised for r in conn.execute(sa.select(supplies))}
    assert stock == {key: p.free for key, p in fake.state.stock.items()}
    assert promised == {sid: s.promised for sid, s in fake.state.supplies.items()}
    fake_ids = [getattr(item, "event_id", None) for kind, item in fake.state.outbox]
    postgres_ids = [row.event_id for row in relay_outbox.pending(1000, 0)]
    assert postgres_ids == fake_ids


def _fake_shipments(fake: FakeUnitOfWork) -> dict[str, Any]:
    return {
        sid: (
            r.state.value,
            r.parent_id,
            r.location_id,
            tuple((ln.line_id, ln.quantity) for ln in r.shipment.lines),
        )
        for sid, r in fake.state.shipments.items()
    }


def _postgres_shipments(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(shipments)).mappings().all()
    return {
        r["shipment_id"]: (
            r["state"],
            r["parent_id"],
            r["location_id"],
            tuple((ln["line_id"], ln["quantity"]) for ln in r["lines"]),
        )
        for r in rows
    }
