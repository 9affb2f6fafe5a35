"""The `data` of every event the worker publishes (SPEC §3, "data of the output events").

The service layer's decisions are translated into these models at the edge, just before they
are written to the outbox. They forbid unknown fields (a typo while building one is a bug to
catch, not a field to drop) and always serialise every field, `null` included, so subscribers
can rely on the keys being there.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator

from backorder_worker.wire.fields import (
    AtLeastOne,
    CalendarDate,
    Identifier,
    PositiveQuantity,
    Quantity,
    StrictFlag,
    Timestamp,
)


class _OutputModel(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_serialization_defaults_required=True
    )


class TriggerRef(_OutputModel):
    """The input event (CloudEvents `id` and `type`) whose processing produced this one."""

    id: Identifier
    type: Identifier


class LineQuantity(_OutputModel):
    """A number of units of one shipment line."""

    line_id: Identifier
    sku: Identifier
    quantity: PositiveQuantity


class ReleasedShipment(_OutputModel):
    """A shipment that leaves the waiting room: READY now, or FUTURE on `expected_date`."""

    shipment_id: Identifier
    status: Literal["READY", "FUTURE"]
    location_id: Identifier
    expected_date: CalendarDate | None
    lines: tuple[LineQuantity, ...]

    @model_validator(mode="after")
    def _expected_date_only_for_future(self) -> Self:
        if self.status == "FUTURE" and self.expected_date is None:
            raise ValueError("expected_date is required when status is FUTURE")
        if self.status == "READY" and self.expected_date is not None:
            raise ValueError("expected_date must be null when status is READY")
        return self


class ShipmentReleasedData(_OutputModel):
    """A waiting (or new) shipment was released, whole or in parts (R3-R5, R8, R12)."""

    event_type: ClassVar[str] = "shipment.released"
    shipment_id: Identifier
    order_id: Identifier
    release: Literal["CURRENT", "FUTURE", "CURRENT_AND_FUTURE"]
    parent_status: Literal["READY", "REASSIGNED"]
    shipments: AtLeastOne[ReleasedShipment]
    short_lines: tuple[LineQuantity, ...] = ()
    split_off_shipment_id: Identifier | None = None
    payment_action: Literal["NONE", "VOID_AND_REAUTH"] = "NONE"
    backordered_at: Timestamp | None
    released_at: Timestamp
    trigger: TriggerRef


class UnroutableReason(_OutputModel):
    """One fence that filtered a candidate; all of them are reported (R2)."""

    fence: Identifier
    mode: Literal["static", "reactive"]
    sku: Identifier | None = None
    location_id: Identifier | None = None
    requested: Quantity | None = None
    assignable: Quantity | None = None
    detail: str


class ShipmentUnroutableData(_OutputModel):
    """A shipment waits (WAITING, reactive) or cannot be routed (UNROUTABLE, static)."""

    event_type: ClassVar[str] = "shipment.unroutable"
    shipment_id: Identifier
    order_id: Identifier
    state: Literal["WAITING", "UNROUTABLE"]
    reasons: tuple[UnroutableReason, ...]
    expected_release_by: Timestamp | None
    overdue: StrictFlag
    trigger: TriggerRef


OutputEventData = ShipmentReleasedData | ShipmentUnroutableData

OUTPUT_DATA_MODELS: Final[Mapping[str, type[OutputEventData]]] = MappingProxyType(
    {
        ShipmentReleasedData.event_type: ShipmentReleasedData,
        ShipmentUnroutableData.event_type: ShipmentUnroutableData,
    }
)
"""Event type → the model of its `data`: what the worker publishes."""
