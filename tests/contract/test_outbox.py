"""What a transaction queues for publishing: decisions (``record``), reports of cancelled
remainders (``cancel``) and dead letters (``dead_letter``), read back by ``outbox_ids``
and ``outbox_rows`` in write order, this transaction's only."""

from __future__ import annotations

from dataclasses import replace

import pytest

from backorder_worker.domain.outcomes import ShipmentUnroutable
from backorder_worker.service_layer.ports import DeadLetter, UnitOfWork
from tests.integration.postgres.world import NOW, shipment, waiting

LETTER = DeadLetter(b"k", b"not json", "InvalidMessage", "bad", "t-in", 0, 42, (("h", b"v"),))


class Boom(Exception):
    pass


def test_rows_come_back_in_write_order_with_the_events_ids(uow: UnitOfWork) -> None:
    first = waiting(shipment("S-1", ("KTP", 1)), NOW)
    second = waiting(shipment("S-2", ("KTP", 1)), NOW)
    with uow() as store:
        assert store.outbox_ids() == [] and store.outbox_rows() == []
        store.record(first, NOW)
        store.dead_letter(LETTER)
        store.record(second, NOW)
        rows = store.outbox_rows()
        assert [row.event_id for row in rows] == [first.event_id, None, second.event_id]
        ids = store.outbox_ids()
        assert ids == [row.id for row in rows] and ids == sorted(set(ids))


def test_each_transaction_reads_back_its_own_rows_only(uow: UnitOfWork) -> None:
    with uow() as store:
        store.dead_letter(LETTER)
        (earlier,) = store.outbox_ids()
    report = waiting(shipment("S-1", ("KTP", 1)), NOW)
    assert isinstance(report, ShipmentUnroutable)
    with uow() as store:
        store.record(report, NOW)
        store.dead_letter(replace(LETTER, source_offset=43))
        ids = store.outbox_ids()
        assert len(ids) == 2 and min(ids) > earlier
        assert [row.event_id for row in store.outbox_rows()] == [report.event_id, None]


def test_rows_roll_back_with_their_transaction(uow: UnitOfWork) -> None:
    with pytest.raises(Boom), uow() as store:
        store.dead_letter(LETTER)
        assert len(store.outbox_ids()) == 1
        raise Boom
    with uow() as store:
        store.dead_letter(LETTER)
        assert len(store.outbox_rows()) == 1
