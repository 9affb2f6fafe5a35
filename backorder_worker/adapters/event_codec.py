"""From a domain decision to the record the worker publishes (SPEC §3, output events).

A pure function: ``bootstrap`` hands it (``decision_encoder``) to the store, whose outbox
calls it; the in-memory fake of the tests is given the same one. So the bytes a
subscriber sees do not depend on the adapter, and the stores do not know the wire format.
The CloudEvents ``id`` is the decision's deterministic id (I4); the record key is the
order id, so every event of an order lands on one partition, in order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from backorder_worker.domain.outcomes import (
    Decision,
    ReleasedLine,
    ShipmentReleased,
    ShipmentStatus,
    ShipmentUnroutable,
    Trigger,
)
from backorder_worker.service_layer.ports import EncodeDecision, OutputRecord
from backorder_worker.settings import TopicsSettings
from backorder_worker.wire import encode_event
from backorder_worker.wire.outputs import (
    LineQuantity,
    ReleasedShipment,
    ShipmentReleasedData,
    ShipmentUnroutableData,
    TriggerRef,
    UnroutableReason,
)

DEFAULT_SOURCE: Final = "backorder-worker"

STRUCTURED_MODE_HEADERS: Final[tuple[tuple[str, bytes], ...]] = (
    ("content-type", b"application/cloudevents+json; charset=UTF-8"),
)
"""The Kafka protocol binding of CloudEvents marks a structured-mode record so."""

__all__ = ["DEFAULT_SOURCE", "OutputRecord", "decision_encoder", "encode_decision"]


def encode_decision(
    decision: Decision, now: datetime, topics: TopicsSettings, source: str = DEFAULT_SOURCE
) -> OutputRecord:
    """The output record of one decision; ``now`` is the CloudEvents ``time``."""
    if isinstance(decision, ShipmentReleased):
        topic, event_type = topics.shipment_released, ShipmentReleasedData.event_type
        data: ShipmentReleasedData | ShipmentUnroutableData = released_data(decision)
        order_id = decision.parent.order_id
    else:
        topic, event_type = topics.still_unroutable, ShipmentUnroutableData.event_type
        data = unroutable_data(decision)
        order_id = decision.shipment.order_id
    value = encode_event(event_type, source, decision.event_id, now, data)
    key = order_id.encode("utf-8")
    return OutputRecord(topic, key, decision.event_id, value, STRUCTURED_MODE_HEADERS)


def decision_encoder(topics: TopicsSettings, source: str = DEFAULT_SOURCE) -> EncodeDecision:
    """``encode_decision`` with these topics and source: what a store is given."""

    def encode(decision: Decision, now: datetime) -> OutputRecord:
        return encode_decision(decision, now, topics, source)

    return encode


def released_data(decision: ShipmentReleased) -> ShipmentReleasedData:
    return ShipmentReleasedData(
        shipment_id=decision.parent.shipment_id,
        order_id=decision.parent.order_id,
        release=decision.release.value,
        parent_status=decision.parent_status.value,
        shipments=tuple(
            ReleasedShipment(
                shipment_id=shipment.shipment_id,
                status=shipment.status.value,
                location_id=shipment.location_id,
                expected_date=(
                    shipment.expected_date if shipment.status is ShipmentStatus.FUTURE else None
                ),
                lines=_lines(shipment.lines),
            )
            for shipment in decision.shipments
        ),
        short_lines=_lines(decision.short_lines),
        split_off_shipment_id=(
            None if decision.split_off is None else decision.split_off.shipment.shipment_id
        ),
        payment_action=decision.payment_action.value,
        backordered_at=decision.backordered_at,
        released_at=decision.released_at,
        trigger=_trigger(decision.trigger),
    )


def unroutable_data(decision: ShipmentUnroutable) -> ShipmentUnroutableData:
    return ShipmentUnroutableData(
        shipment_id=decision.shipment.shipment_id,
        order_id=decision.shipment.order_id,
        state=decision.state.value,
        reasons=tuple(
            UnroutableReason(
                fence=reason.fence.value,
                mode=reason.mode.value,
                sku=reason.sku,
                location_id=reason.location_id,
                requested=reason.requested,
                assignable=reason.assignable,
                detail=reason.detail,
            )
            for reason in decision.reasons
        ),
        expected_release_by=decision.expected_release_by,
        overdue=decision.overdue,
        trigger=_trigger(decision.trigger),
    )


def _lines(lines: tuple[ReleasedLine, ...]) -> tuple[LineQuantity, ...]:
    return tuple(LineQuantity(line_id=ln.line_id, sku=ln.sku, quantity=ln.quantity) for ln in lines)


def _trigger(trigger: Trigger) -> TriggerRef:
    return TriggerRef(id=trigger.event_id, type=trigger.event_type)
