"""The reports' upsert and the waiting-room insert take their rows as one JSON document
(``rows.recordset``): what they store must be exactly the row values, whatever characters
the text holds (quotes, backslashes, braces, commas and non-ASCII: what the text-format
arrays used to escape) and whatever time zone and precision the times carry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backorder_worker.adapters.postgres.decision_rows import unroutable_values
from backorder_worker.adapters.postgres.decision_writes import write_decisions
from backorder_worker.adapters.postgres.tables import shipments, waiting_skus
from backorder_worker.domain.fences import Fence, Reason
from backorder_worker.domain.model import (
    Candidate,
    FenceMode,
    FulfillmentType,
    Line,
    Origin,
    Shipment,
)
from backorder_worker.domain.outcomes import ShipmentUnroutable, Trigger, WaitState

_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1
).filter(lambda text: not text.isspace())
_ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
)
_TIMES = st.builds(
    lambda seconds, micros, zone: (
        datetime(2026, 5, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=micros)
    ).astimezone(zone),
    st.integers(0, 10**8),
    st.sampled_from([0, 1, 999_999, 123_456]),
    _ZONES,
)


@st.composite
def _reports(draw: st.DrawFn) -> list[ShipmentUnroutable]:
    ids = draw(st.lists(_TEXT, min_size=1, max_size=4, unique=True))
    reports = []
    for shipment_id in ids:
        skus = draw(st.lists(_TEXT, min_size=1, max_size=3, unique=True))
        shipment = Shipment(
            shipment_id=shipment_id,
            order_id=draw(_TEXT),
            fulfillment_type=draw(st.sampled_from(list(FulfillmentType))),
            lines=tuple(
                Line(
                    f"{shipment_id}-{n}", sku, draw(st.integers(1, 10**6)), draw(st.none() | _TEXT)
                )
                for n, sku in enumerate(skus)
            ),
            pickup_location_id=draw(st.none() | _TEXT),
            priority=draw(st.integers(-(2**31), 2**31 - 1)),
            split_allowed=draw(st.none() | st.booleans()),
            backorder_days=draw(st.none() | st.integers(0, 365)),
        )
        entered_at = draw(_TIMES)
        reason = Reason(
            Fence.COMPLETE_STOCK,
            FenceMode.REACTIVE,
            draw(_TEXT),
            sku=skus[0],
            location_id=draw(st.none() | _TEXT),
            requested=draw(st.none() | st.integers(0, 10**6)),
            assignable=draw(st.none() | st.integers(0, 10**6)),
        )
        reports.append(
            ShipmentUnroutable(
                event_id=f"unroutable-{shipment_id}",
                candidate=Candidate(shipment, entered_at, Origin.INTAKE, draw(st.none() | _TIMES)),
                state=draw(st.sampled_from([WaitState.WAITING, WaitState.UNROUTABLE])),
                reasons=(reason,),
                expected_release_by=draw(_TIMES),
                overdue=draw(st.booleans()),
                trigger=Trigger("evt", "shipment.created"),
            )
        )
    return reports


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(reports=_reports(), now=_TIMES)
def test_reports_and_room_entries_store_exactly_their_values(
    engine: sa.Engine, reports: list[ShipmentUnroutable], now: datetime
) -> None:
    with engine.connect() as conn, conn.begin() as transaction:
        write_decisions(conn, [(report, now) for report in reports])
        stored = {
            row["shipment_id"]: dict(row) for row in conn.execute(sa.select(*_columns())).mappings()
        }
        entries = {tuple(row) for row in conn.execute(sa.select(waiting_skus))}
        transaction.rollback()
    assert set(stored) == {r.shipment.shipment_id for r in reports}
    for report in reports:
        assert stored[report.shipment.shipment_id] == unroutable_values(report, now)
    assert entries == {
        (r.shipment.shipment_id, sku, r.shipment.priority, r.candidate.entered_at)
        for r in reports
        if r.state is WaitState.WAITING
        for sku in r.shipment.skus
    }


def _columns() -> list[sa.Column[object]]:
    return [
        shipments.c[name]
        for name in (
            "shipment_id",
            "order_id",
            "fulfillment_type",
            "pickup_location_id",
            "priority",
            "split_allowed",
            "backorder_days",
            "lines",
            "state",
            "entered_at",
            "backordered_at",
            "expected_release_by",
            "overdue",
            "reasons",
            "updated_at",
        )
    ]
