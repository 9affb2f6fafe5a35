"""Which announced supply a release may use (R1, R4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from backorder_worker.domain.inventory import StockKey, StockPool, Supply
from backorder_worker.domain.model import Catalog, ReleasePolicy


def is_usable_supply(
    supply: Supply, catalog: Catalog, policy: ReleasePolicy, now: datetime
) -> bool:
    """Future inventory on for the site and the product, the product backordered at the
    supply's location (R1, R4: a location that sells it as NONE sells no future units of
    it), and due within the date limit. The location's own listing decides, else the
    SKU-wide one."""
    if not policy.future_inventory_enabled or supply.free <= 0:
        return False
    listing = catalog.listing(supply.sku, supply.location_id)
    if listing is None or not listing.future_inventory_enabled or not listing.is_backorderable:
        return False
    return supply.expected_date <= now.date() + timedelta(days=policy.future_date_limit_days)


def pool_for(
    current: Mapping[StockKey, int],
    supplies: Iterable[Supply],
    catalog: Catalog,
    policy: ReleasePolicy,
    now: datetime,
) -> StockPool:
    """The stock a round may draw from: all free current units and the usable supply."""
    return StockPool(current, (s for s in supplies if is_usable_supply(s, catalog, policy, now)))
