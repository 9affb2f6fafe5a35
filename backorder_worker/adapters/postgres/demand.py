"""The waiting room seen by purchasing: units and shipments waiting per SKU (per pickup
location for BOPIS, where only stock at that store can serve them).

One aggregate over the waiting shipments' lines: it reads every waiting row (with
1,000,000 waiting, seconds of Postgres), so it belongs to an operator's command, not to a
probe or a metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from backorder_worker.adapters.postgres.rows import utc

_DEMAND = sa.text(
    """
    SELECT line ->> 'sku' AS sku,
           CASE WHEN s.fulfillment_type = 'BOPIS' THEN s.pickup_location_id END AS location_id,
           sum((line ->> 'quantity')::bigint) AS units,
           count(DISTINCT s.shipment_id) AS shipments,
           min(s.entered_at) AS oldest_entered_at,
           count(DISTINCT s.shipment_id) FILTER (WHERE s.overdue) AS overdue
    FROM shipments AS s, jsonb_array_elements(s.lines) AS line
    WHERE s.state = 'WAITING' AND (CAST(:sku AS text) IS NULL OR line ->> 'sku' = :sku)
    GROUP BY 1, 2
    ORDER BY units DESC, sku, location_id NULLS FIRST
    LIMIT :limit
    """
)


@dataclass(frozen=True, slots=True)
class SkuDemand:
    sku: str
    location_id: str | None  # the BOPIS pickup location; None: ship-to-home, any location
    units: int
    shipments: int
    oldest_entered_at: datetime | None
    overdue: int  # of `shipments`, flagged past their expected release (R13)


def waiting_demand(
    engine: sa.Engine, *, sku: str | None = None, limit: int = 100
) -> list[SkuDemand]:
    """The largest demands first (units, then SKU); at most `limit` rows."""
    with engine.connect() as conn:
        rows = conn.execute(_DEMAND, {"sku": sku, "limit": limit}).mappings().all()
    return [
        SkuDemand(
            sku=row["sku"],
            location_id=row["location_id"],
            units=int(row["units"]),
            shipments=int(row["shipments"]),
            oldest_entered_at=utc(row["oldest_entered_at"]),
            overdue=int(row["overdue"]),
        )
        for row in rows
    ]
