"""Which announced supply a release may use (R1, R4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from backorder_worker.domain.inventory import StockKey, StockPool, Supply
from backorder_worker.domain.model import Catalog, ReleasePolicy


def is_usable_supply(
    supply: Supply, catalog: Catalog, policy: ReleasePolicy, now: datetime
) -> bool:
    """Future inventory on for the site and the product, and due within the date limit."""
    if not policy.future_inventory_enabled or supply.free <= 0:
        return False
    listing = catalog.listing(supply.sku, supply.location_id)
    if listing is None or not listing.future_inventory_enabled:
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
