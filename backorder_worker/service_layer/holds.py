"""Which SKUs a round must cover when stock is held (R7, ``allow_skip = false``).

With skipping off, the earliest shipment keeps the units it could use. What a shipment
holds of one SKU changes what the shipments behind it can do with that SKU, and they
hold other SKUs in turn: a hold reaches along every waiting shipment that shares a SKU.
So a round with skipping off covers the SKUs *linked* to its own — every SKU of a waiting
shipment that needs one of them, and so on — and walks all of their waiting shipments in
release order. That is what makes held units pass on in the same event when the
shipment holding them leaves the line (released, unroutable after a catalog change,
cancelled), and what keeps a later shipment from taking them through another SKU.

The closure is read before its new SKUs are locked (a lock is taken per SKU, and the
set is what the read finds). That is safe: the round locks every SKU of a page before
it reads that page's stock (``rounds.admit``), so no decision rests on an unlocked read;
and a shipment that joins the linked set after the read is decided again by the round
of the transaction that put it there, which covers its own closure and so waits for the
locks this one holds. The cost is the price of the setting: a round reads every waiting
shipment linked to the event's SKUs, twice (once to link, once to decide).
"""

from __future__ import annotations

from collections.abc import Iterable

from backorder_worker.domain.model import ReleaseOrder
from backorder_worker.service_layer.ports import OrderKey, WaitingRoomPort

PAGE = 1000


def linked_skus(store: WaitingRoomPort, skus: Iterable[str], order: ReleaseOrder) -> set[str]:
    """These SKUs and every SKU linked to them through waiting shipments."""
    linked = set(skus)
    frontier = set(linked)
    while frontier:
        found: set[str] = set()
        after: OrderKey | None = None
        while True:
            page = store.waiting_page(frontier, order, after, PAGE)
            for candidate in page:
                found |= candidate.shipment.skus
            if len(page) < PAGE:
                break
            last = page[-1]
            after = OrderKey(last.shipment.priority, last.entered_at, last.shipment.shipment_id)
        frontier = found - linked
        linked |= frontier
    return linked
