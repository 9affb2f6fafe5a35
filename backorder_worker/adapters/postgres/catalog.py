"""Locations and listings: read for every decision, written by catalog events."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from backorder_worker.adapters.postgres.rows import (
    listing_from_row,
    location_from_row,
    text_array,
)
from backorder_worker.adapters.postgres.tables import SKU_WIDE, listings, locations
from backorder_worker.domain.model import Listing, Location


def all_locations(conn: sa.Connection) -> dict[str, Location]:
    rows = conn.execute(sa.select(locations)).mappings()
    return {row["location_id"]: location_from_row(row) for row in rows}


def listings_of(conn: sa.Connection, skus: Iterable[str]) -> dict[tuple[str, str | None], Listing]:
    wanted = set(skus)
    if not wanted:
        return {}
    # ``IN (SELECT unnest(…))``, not ``= ANY(…)``: a batch asks for hundreds of SKUs, for
    # which Postgres plans ``= ANY`` as a sequential scan of the whole assortment; the join
    # keeps to the primary key (7.5 → 1.5 ms for 600 of 100,000 SKUs). Same rows.
    asked = sa.select(sa.func.unnest(text_array(wanted)))
    rows = conn.execute(sa.select(listings).where(listings.c.sku.in_(asked)))
    found = (listing_from_row(row) for row in rows.mappings())
    return {(listing.sku, listing.location_id): listing for listing in found}


def save_listing(conn: sa.Connection, listing: Listing) -> None:
    statement = insert(listings).values(
        sku=listing.sku,
        location_id=listing.location_id or SKU_WIDE,
        out_of_stock_behaviour=listing.out_of_stock_behaviour.value,
        future_inventory_enabled=listing.future_inventory_enabled,
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[listings.c.sku, listings.c.location_id],
            set_={
                "out_of_stock_behaviour": statement.excluded.out_of_stock_behaviour,
                "future_inventory_enabled": statement.excluded.future_inventory_enabled,
            },
        )
    )


def save_location(conn: sa.Connection, location: Location) -> None:
    statement = insert(locations).values(
        location_id=location.location_id,
        active=location.active,
        fulfillment_types=sorted(ft.value for ft in location.fulfillment_types),
        rank=location.rank,
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[locations.c.location_id],
            set_={
                "active": statement.excluded.active,
                "fulfillment_types": statement.excluded.fulfillment_types,
                "rank": statement.excluded.rank,
            },
        )
    )
