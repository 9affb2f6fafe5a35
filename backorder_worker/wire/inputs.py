"""The `data` of every event the worker consumes (SPEC §3, "data of the input events").

These models are the edge: they say what a producer may send and nothing more. They ignore
fields they do not know, so a producer can add one without breaking us, but they are strict
about the fields they do know (see `fields`). The entry point turns an instance into a
command; nothing below the entry points imports this module.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from backorder_worker.wire.fields import (
    AtLeastOne,
    CalendarDate,
    Days,
    Identifier,
    PositiveQuantity,
    Quantity,
    SignedRank,
    StrictFlag,
    Timestamp,
)

FulfillmentType = Literal["STH", "BOPIS"]


class _InputData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    event_type: ClassVar[str]


class StockStowedData(_InputData):
    """Units newly available at a location; a `supply_id` names the supply they fulfil (R10)."""

    event_type: ClassVar[str] = "stock.stowed"
    location_id: Identifier
    sku: Identifier
    quantity: PositiveQuantity
    supply_id: Identifier | None = None


class StockLevelData(_InputData):
    """The absolute level the inventory system knew at `as_of`."""

    event_type: ClassVar[str] = "stock.level"
    location_id: Identifier
    sku: Identifier
    available: Quantity
    as_of: Timestamp


class FutureInventoryUpdatedData(_InputData):
    """An announced supply, upserted by `supply_id`; quantity 0 cancels it."""

    event_type: ClassVar[str] = "future-inventory.updated"
    supply_id: Identifier
    location_id: Identifier
    sku: Identifier
    quantity: Quantity
    expected_date: CalendarDate


class ListingUpdatedData(_InputData):
    """How a SKU behaves when out of stock, for every location or for one (R1)."""

    event_type: ClassVar[str] = "listing.updated"
    sku: Identifier
    location_id: Identifier | None = None
    out_of_stock_behaviour: Literal["NONE", "BACKORDER", "PREORDER"]
    future_inventory_enabled: StrictFlag | None = None


class LocationUpdatedData(_InputData):
    """Whether a location takes part in routing, for which fulfilment, at which rank."""

    event_type: ClassVar[str] = "location.updated"
    location_id: Identifier
    active: StrictFlag
    fulfillment_types: tuple[FulfillmentType, ...]
    rank: SignedRank | None = None

    @field_validator("fulfillment_types")
    @classmethod
    def _each_type_once(cls, types: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(types)) != len(types):
            raise ValueError("lists a fulfillment type more than once")
        return types


class ShipmentLine(BaseModel):
    """One line of a new shipment; lines sharing a `bundle_id` travel together (R9)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    line_id: Identifier
    sku: Identifier
    quantity: PositiveQuantity
    bundle_id: Identifier | None = None


class ShortPickedLine(BaseModel):
    """How many units of a line the picker could not find."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    line_id: Identifier
    sku: Identifier
    missing_quantity: PositiveQuantity


def _line_ids_once(lines: tuple[ShipmentLine, ...] | tuple[ShortPickedLine, ...]) -> None:
    seen: set[str] = set()
    for line in lines:
        if line.line_id in seen:
            raise ValueError(f"line_id {line.line_id!r} appears more than once")
        seen.add(line.line_id)


class ShipmentCreatedData(_InputData):
    """A shipment the OMS could not route; options left out take the site's settings."""

    event_type: ClassVar[str] = "shipment.created"
    shipment_id: Identifier
    order_id: Identifier
    fulfillment_type: FulfillmentType
    pickup_location_id: Identifier | None = Field(default=None, validate_default=True)
    lines: AtLeastOne[ShipmentLine]
    priority: SignedRank = 0
    split_allowed: StrictFlag | None = None
    backorder_days: Days | None = None

    @field_validator("pickup_location_id")
    @classmethod
    def _pickup_only_for_bopis(cls, pickup: str | None, info: ValidationInfo) -> str | None:
        fulfillment_type = info.data.get("fulfillment_type")
        if fulfillment_type == "BOPIS" and pickup is None:
            raise ValueError("is required when fulfillment_type is BOPIS")
        if fulfillment_type == "STH" and pickup is not None:
            raise ValueError("must be null when fulfillment_type is STH")
        return pickup

    @field_validator("lines")
    @classmethod
    def _unique_lines(cls, lines: tuple[ShipmentLine, ...]) -> tuple[ShipmentLine, ...]:
        _line_ids_once(lines)
        return lines


class ShipmentShortPickedData(_InputData):
    """Lines a location could not pick in full; the remainder goes back through R8."""

    event_type: ClassVar[str] = "shipment.short-picked"
    shipment_id: Identifier
    order_id: Identifier
    location_id: Identifier
    lines: AtLeastOne[ShortPickedLine]

    @field_validator("lines")
    @classmethod
    def _unique_lines(cls, lines: tuple[ShortPickedLine, ...]) -> tuple[ShortPickedLine, ...]:
        _line_ids_once(lines)
        return lines


class ShipmentCancelledData(_InputData):
    """The shipment leaves the waiting room and is never released (R11)."""

    event_type: ClassVar[str] = "shipment.cancelled"
    shipment_id: Identifier
    order_id: Identifier


InputEventData = (
    StockStowedData
    | StockLevelData
    | FutureInventoryUpdatedData
    | ListingUpdatedData
    | LocationUpdatedData
    | ShipmentCreatedData
    | ShipmentShortPickedData
    | ShipmentCancelledData
)

INPUT_DATA_MODELS: Final[Mapping[str, type[InputEventData]]] = MappingProxyType(
    {
        model.event_type: model
        for model in (
            StockStowedData,
            StockLevelData,
            FutureInventoryUpdatedData,
            ListingUpdatedData,
            LocationUpdatedData,
            ShipmentCreatedData,
            ShipmentShortPickedData,
            ShipmentCancelledData,
        )
    }
)
"""Event type → the model of its `data`: what `decode_event` accepts."""
