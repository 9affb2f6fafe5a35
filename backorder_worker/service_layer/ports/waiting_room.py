"""The waiting-room port: the shipments that wait for stock, read in release order (R7)
from an index, a page at a time, and which SKUs any of them needs.

Shipments enter and leave the room through ``ShipmentsPort.record`` and ``cancel``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from backorder_worker.domain.model import Candidate, ReleaseOrder


@dataclass(frozen=True, slots=True)
class OrderKey:
    """Where a waiting-room page ends; the next page starts after it."""

    priority: int
    entered_at: datetime
    shipment_id: str


class WaitingRoomPort(Protocol):
    def waiting_page(
        self,
        skus: Iterable[str] | None,
        order: ReleaseOrder,
        after: OrderKey | None,
        limit: int,
    ) -> list[Candidate]:
        """Waiting shipments with a line of any of ``skus`` (None: all), in release order
        (R7: ``priority`` desc first when the order is PRIORITY, then entered_at, then
        shipment id), strictly after ``after``. Reads an index, never the whole room. Like
        every read, it sees what this transaction recorded and cancelled: a shipment it
        put in the room is on the page, one it took out is not."""

    def waiting_skus(self, skus: Iterable[str]) -> set[str]:
        """Which of these SKUs some waiting shipment needs (one indexed query). For SKUs
        this transaction holds locked the answer is remembered (nobody else can make a
        shipment wait for them until commit) and follows what this transaction records and
        cancels: a shipment it puts in the room adds its SKUs; once it takes one out
        (released, unroutable, cancelled), its SKUs are asked again."""
