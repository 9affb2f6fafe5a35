"""The fake ``WaitingRoomPort``: the WAITING shipments of the state, sorted in release
order on every ask (no index: a test's room is small)."""

from __future__ import annotations

from collections.abc import Iterable

from backorder_worker.domain.model import (
    Candidate,
    FulfillmentType,
    Origin,
    ReleaseOrder,
    Shipment,
)
from backorder_worker.domain.release import release_order_key
from backorder_worker.service_layer.ports import OrderKey, ShipmentState
from tests.fakes.state import FakeArea


class FakeWaitingRoom(FakeArea):
    def waiting_page(
        self, skus: Iterable[str] | None, order: ReleaseOrder, after: OrderKey | None, limit: int
    ) -> list[Candidate]:
        wanted = None if skus is None else set(skus)
        waiting = [
            Candidate(r.shipment, r.entered_at, Origin.WAITING, r.backordered_at)
            for r in self.state.shipments.values()
            if r.state is ShipmentState.WAITING
            and r.entered_at is not None
            and (wanted is None or r.shipment.skus & wanted)
        ]
        waiting.sort(key=lambda c: release_order_key(order, c))
        if after is not None:
            cut = release_order_key(
                order,
                Candidate(_stub(after), after.entered_at, Origin.WAITING),
            )
            waiting = [c for c in waiting if release_order_key(order, c) > cut]
        return waiting[:limit]

    def waiting_skus(self, skus: Iterable[str]) -> set[str]:
        wanted = set(skus)
        return {
            sku
            for r in self.state.shipments.values()
            if r.state is ShipmentState.WAITING
            for sku in r.shipment.skus & wanted
        }


def _stub(after: OrderKey) -> Shipment:
    return Shipment(after.shipment_id, "", FulfillmentType.STH, (), priority=after.priority)
