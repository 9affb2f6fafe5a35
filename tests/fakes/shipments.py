"""The fake ``ShipmentsPort``: shipment records in the state, and ``record`` — a decision
taking effect, with the guards Postgres has: a release of a shipment no longer waiting
and a report over a released one raise ``ConcurrentRelease``; a draw of more than is free
fails. Output rows go through ``FakeOutbox``, so a decision is encoded like on Postgres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from backorder_worker.domain.model import Line
from backorder_worker.domain.outcomes import (
    Decision,
    ShipmentReleased,
    ShipmentStatus,
    ShipmentUnroutable,
    Trigger,
    WaitState,
)
from backorder_worker.service_layer.ports import ConcurrentRelease, ShipmentRecord, ShipmentState
from tests.fakes.outbox import FakeOutbox
from tests.fakes.stock import FakeStock


class FakeShipments(FakeStock, FakeOutbox):
    def shipment(self, shipment_id: str) -> ShipmentRecord | None:
        return self.state.shipments.get(shipment_id)

    def record(self, decision: Decision, now: datetime) -> None:
        out = self._encoded(decision, now)  # fails before writes, as on Postgres
        if isinstance(decision, ShipmentReleased):
            self._record_release(decision, now)
        else:
            c = decision.candidate
            existing = self.state.shipments.get(c.shipment.shipment_id)
            if existing is not None and existing.state not in (
                ShipmentState.WAITING,
                ShipmentState.UNROUTABLE,
            ):
                raise ConcurrentRelease(c.shipment.shipment_id)
            waits = decision.state is WaitState.WAITING
            self.state.shipments[c.shipment.shipment_id] = ShipmentRecord(
                c.shipment,
                ShipmentState.WAITING if waits else ShipmentState.UNROUTABLE,
                c.entered_at,
                c.backordered_at or c.entered_at,
                parent_id=existing.parent_id if existing else None,
                short_picks=existing.short_picks if existing else 0,
            )
        self._queue("decision", decision, out)

    def _record_release(self, decision: ShipmentReleased, now: datetime) -> None:
        parent_id = decision.parent.shipment_id
        existing = self.state.shipments.get(parent_id)
        if existing is not None and existing.state is not ShipmentState.WAITING:
            raise ConcurrentRelease(parent_id)
        for draw in decision.draws:
            if draw.supply_id is None:
                pos = self.stock_position(draw.location_id, draw.sku)
                if pos.free < draw.quantity:
                    raise AssertionError(f"oversell at {draw.location_id}/{draw.sku}")
                self.state.stock[(draw.location_id, draw.sku)] = replace(
                    pos, free=pos.free - draw.quantity
                )
                self.state.allocations.append((draw.location_id, draw.sku, draw.quantity, now))
            else:
                supply = self.state.supplies[draw.supply_id]
                assert supply.free >= draw.quantity, f"oversell of {draw.supply_id}"
                self.state.supplies[draw.supply_id] = replace(
                    supply, promised=supply.promised + draw.quantity
                )
                receiver = next(
                    s.shipment_id
                    for s in decision.shipments
                    if s.status is ShipmentStatus.FUTURE and s.location_id == draw.location_id
                )
                self.state.promises.append((draw.supply_id, receiver))
        entered = existing.entered_at if existing is not None else None
        linked = existing.parent_id if existing is not None else None  # a remainder's link
        counted = existing.short_picks if existing is not None else 0  # kept, as in Postgres
        for child in decision.shipments:
            lines = {line.line_id: line for line in decision.parent.lines}
            shipment = replace(
                decision.parent,
                shipment_id=child.shipment_id,
                lines=tuple(replace(lines[ln.line_id], quantity=ln.quantity) for ln in child.lines),
            )
            self.state.shipments[child.shipment_id] = ShipmentRecord(
                shipment,
                ShipmentState(child.status.value),
                entered if child.shipment_id == parent_id else None,
                decision.backordered_at,
                child.location_id,
                child.expected_date,
                parent_id if child.shipment_id != parent_id else linked,
                counted if child.shipment_id == parent_id else 0,
            )
        if decision.parent_status is ShipmentStatus.REASSIGNED:
            self.state.shipments[parent_id] = ShipmentRecord(
                decision.parent,
                ShipmentState.REASSIGNED,
                entered,
                decision.backordered_at,
                parent_id=linked,
                short_picks=counted,
            )
        if decision.split_off is not None:
            split = decision.split_off
            self.state.shipments[split.shipment.shipment_id] = ShipmentRecord(
                split.shipment,
                ShipmentState.WAITING,
                split.entered_at,
                split.backordered_at,
                parent_id=parent_id,
            )

    def cancel(
        self,
        shipment_id: str,
        trigger: Trigger,
        now: datetime,
        report: ShipmentUnroutable | None = None,
    ) -> ShipmentRecord | None:
        record = self.state.shipments.get(shipment_id)
        if record is not None and record.state is not ShipmentState.CANCELLED:
            self.state.shipments[shipment_id] = replace(record, state=ShipmentState.CANCELLED)
            if report is not None:
                self._queue("decision", report, self._encoded(report, now))
        return record

    def descendants(self, shipment_id: str) -> list[ShipmentRecord]:
        found: dict[str, ShipmentRecord] = {}
        parents = [shipment_id]
        while parents:
            children = [
                r
                for r in self.state.shipments.values()
                if r.parent_id in parents and r.shipment.shipment_id not in found
            ]
            found.update((r.shipment.shipment_id, r) for r in children)
            parents = [r.shipment.shipment_id for r in children]
        return [found[key] for key in sorted(found)]

    def link_remainder(self, remainder_id: str, parent_id: str) -> None:
        record = self.state.shipments[remainder_id]
        self.state.shipments[remainder_id] = replace(record, parent_id=parent_id)

    def replace_lines(self, shipment_id: str, lines: Sequence[Line]) -> None:
        record = self.state.shipments[shipment_id]
        kept = tuple(line for line in lines if line.quantity > 0)
        self.state.shipments[shipment_id] = replace(
            record, shipment=replace(record.shipment, lines=kept)
        )

    def count_short_pick(self, shipment_id: str) -> int:
        record = self.state.shipments[shipment_id]
        self.state.shipments[shipment_id] = replace(record, short_picks=record.short_picks + 1)
        return record.short_picks + 1
