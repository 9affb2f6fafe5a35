"""The service layer's handlers on the Postgres store: SPEC §5's worked example, end to end
from commands to the records in the outbox."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta

from backorder_worker.adapters.postgres.outbox import PostgresOutbox
from backorder_worker.adapters.postgres.store import PostgresUnitOfWork
from backorder_worker.domain.model import (
    FulfillmentType,
    Line,
    OutOfStockBehaviour,
    ReleaseOrder,
    ReleasePolicy,
)
from backorder_worker.service_layer import commands as c
from backorder_worker.service_layer.handlers import handle
from backorder_worker.service_layer.ports import ShipmentState
from backorder_worker.service_layer.results import Duplicate, Outcome
from backorder_worker.wire import decode_output_event
from backorder_worker.wire.outputs import ShipmentReleasedData, ShipmentUnroutableData

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def _apply(
    uow: PostgresUnitOfWork, command: c.Command, event_id: str, event_type: str, minute: int
) -> Outcome:
    time = T0 + timedelta(minutes=minute)
    digest = hashlib.sha256(repr(command).encode()).hexdigest()
    with uow() as store:
        envelope = c.Envelope(event_id, event_type, time, digest, command)
        return handle(envelope, store, ReleasePolicy(), time)


def test_the_worked_example_waits_then_is_released_by_the_second_stow(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox
) -> None:
    for loc in ("A", "B"):
        _apply(uow, c.UpdateLocation(loc, True, frozenset(FulfillmentType)), loc, "", 0)
    for sku in ("KTP", "KTP2"):
        _apply(uow, c.UpdateListing(sku, OutOfStockBehaviour.BACKORDER), sku, "", 0)
    lines = (Line("S-100-1", "KTP", 5), Line("S-100-2", "KTP2", 5))
    created = c.CreateShipment("S-100", "O-100", FulfillmentType.STH, lines)
    _apply(uow, created, "7d1c", "shipment.created", 0)
    _apply(uow, c.StowStock("A", "KTP", 5), "stow-1", "stock.stowed", 1)
    _apply(uow, c.StowStock("B", "KTP2", 5), "stow-2", "stock.stowed", 2)
    again = _apply(uow, c.StowStock("B", "KTP2", 5), "stow-2", "stock.stowed", 3)

    assert isinstance(again, Duplicate)
    outputs = [decode_output_event(row.value) for row in relay_outbox.pending(10, 0)]
    assert [(e.type, e.data.shipment_id) for e in outputs] == [
        ("shipment.unroutable", "S-100"),  # it enters the waiting room
        # the first stow cannot help it (KTP2 is still short): it is not re-reported
        ("shipment.released", "S-100"),
    ]
    waited, released = outputs[0].data, outputs[1].data
    assert isinstance(waited, ShipmentUnroutableData) and waited.state == "WAITING"
    assert waited.expected_release_by == T0 + timedelta(days=14)
    assert isinstance(released, ShipmentReleasedData)
    assert (released.release, released.parent_status) == ("CURRENT", "REASSIGNED")
    assert [(s.shipment_id, s.location_id) for s in released.shipments] == [
        ("S-100-R1", "A"),
        ("S-100-R2", "B"),
    ]
    assert released.backordered_at == T0
    assert (released.trigger.id, released.trigger.type) == ("stow-2", "stock.stowed")
    with uow() as store:
        parent = store.shipment("S-100")
        assert parent is not None and parent.state is ShipmentState.REASSIGNED
        assert store.current_stock(["KTP", "KTP2"]) == {("A", "KTP"): 0, ("B", "KTP2"): 0}
        assert store.waiting_page(None, ReleaseOrder.FIFO, None, 10) == []


def test_concurrent_stows_of_one_sku_release_each_waiting_shipment_once_without_oversell(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox
) -> None:
    _apply(uow, c.UpdateLocation("A", True, frozenset(FulfillmentType)), "loc", "", 0)
    _apply(uow, c.UpdateListing("KTP", OutOfStockBehaviour.BACKORDER), "lst", "", 0)
    for n in (1, 2, 3):
        lines = (Line(f"S-{n}-1", "KTP", 2),)
        created = c.CreateShipment(f"S-{n}", f"O-{n}", FulfillmentType.STH, lines)
        _apply(uow, created, f"created-{n}", "shipment.created", n)
    errors: list[BaseException] = []

    def stow(n: int) -> None:
        try:
            _apply(uow, c.StowStock("A", "KTP", 1), f"stow-{n}", "stock.stowed", 10 + n)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=stow, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    released = [
        event.data.shipment_id
        for event in (decode_output_event(row.value) for row in relay_outbox.pending(100, 0))
        if event.type == "shipment.released"
    ]
    assert sorted(released) == ["S-1", "S-2", "S-3"]
    with uow() as store:
        assert store.stock_position("A", "KTP").free == 0


def test_stows_in_one_transaction_release_a_room_larger_than_a_page_once_each(
    uow: PostgresUnitOfWork, relay_outbox: PostgresOutbox
) -> None:
    """Two rounds in one transaction, each over several waiting-room pages, with every
    decision kept back until commit: the second round must not see the first one's
    releases as waiting, and no round may skip a shipment a later page holds."""
    _apply(uow, c.UpdateLocation("A", True, frozenset(FulfillmentType)), "loc", "", 0)
    _apply(uow, c.UpdateListing("KTP", OutOfStockBehaviour.BACKORDER), "lst", "", 0)
    for n in range(90):
        lines = (Line(f"S-{n:02}-1", "KTP", 1),)
        created = c.CreateShipment(f"S-{n:02}", f"O-{n}", FulfillmentType.STH, lines)
        _apply(uow, created, f"created-{n}", "shipment.created", 1)
    with uow() as store:
        for n, units in enumerate((50, 30)):
            time = T0 + timedelta(minutes=10 + n)
            stow = c.StowStock("A", "KTP", units)
            envelope = c.Envelope(f"stow-{n}", "stock.stowed", time, f"d{n}", stow)
            handle(envelope, store, ReleasePolicy(), time)

    released = [
        event.data.shipment_id
        for event in (decode_output_event(row.value) for row in relay_outbox.pending(500, 0))
        if event.type == "shipment.released"
    ]
    assert sorted(released) == [f"S-{n:02}" for n in range(80)]  # FIFO: the first 80
    with uow() as store:
        assert store.stock_position("A", "KTP").free == 0
        left = store.waiting_page(["KTP"], ReleaseOrder.FIFO, None, 100)
        assert [candidate.shipment.shipment_id for candidate in left] == [
            f"S-{n:02}" for n in range(80, 90)
        ]
