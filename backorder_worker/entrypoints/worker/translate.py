"""From the wire to the service layer: a decoded event becomes a command in its envelope
(the event id, type, time and a digest of its content, which the inbox compares)."""

from __future__ import annotations

import hashlib

from backorder_worker.domain.model import FulfillmentType, Line, OutOfStockBehaviour
from backorder_worker.service_layer import commands as c
from backorder_worker.wire import DecodedEvent
from backorder_worker.wire import inputs as w


def to_envelope(event: DecodedEvent[w.InputEventData]) -> c.Envelope:
    data = event.data
    canonical = f"{event.type}\n{data.model_dump_json()}".encode()
    digest = hashlib.sha256(canonical).hexdigest()
    return c.Envelope(event.id, event.type, event.time, digest, to_command(data))


def to_command(data: w.InputEventData) -> c.Command:
    match data:
        case w.StockStowedData():
            return c.StowStock(data.location_id, data.sku, data.quantity, data.supply_id)
        case w.StockLevelData():
            return c.SetStockLevel(data.location_id, data.sku, data.available, data.as_of)
        case w.FutureInventoryUpdatedData():
            return c.AnnounceSupply(
                data.supply_id, data.location_id, data.sku, data.quantity, data.expected_date
            )
        case w.ListingUpdatedData():
            return c.UpdateListing(
                data.sku,
                OutOfStockBehaviour(data.out_of_stock_behaviour),
                data.location_id,
                data.future_inventory_enabled,
            )
        case w.LocationUpdatedData():
            types = frozenset(FulfillmentType(t) for t in data.fulfillment_types)
            return c.UpdateLocation(data.location_id, data.active, types, data.rank)
        case w.ShipmentCreatedData():
            return c.CreateShipment(
                shipment_id=data.shipment_id,
                order_id=data.order_id,
                fulfillment_type=FulfillmentType(data.fulfillment_type),
                lines=tuple(
                    Line(ln.line_id, ln.sku, ln.quantity, ln.bundle_id) for ln in data.lines
                ),
                pickup_location_id=data.pickup_location_id,
                priority=data.priority,
                split_allowed=data.split_allowed,
                backorder_days=data.backorder_days,
            )
        case w.ShipmentShortPickedData():
            return c.ReportShortPick(
                data.shipment_id,
                data.order_id,
                data.location_id,
                tuple(
                    c.ShortPickedLine(ln.line_id, ln.sku, ln.missing_quantity) for ln in data.lines
                ),
            )
        case w.ShipmentCancelledData():
            return c.CancelShipment(data.shipment_id, data.order_id)
    raise TypeError(f"no command for {type(data).__name__}")
