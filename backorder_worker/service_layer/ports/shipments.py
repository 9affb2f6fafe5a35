"""The shipments port: every shipment the worker knows, the decisions made about them,
and what operators and pickers change on them (cancels, short picks).

``record`` is where a decision takes effect: state, waiting room, draws, history and its
output event in the outbox, all in the store's one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from backorder_worker.domain.model import Line, Shipment
from backorder_worker.domain.outcomes import Decision, ShipmentUnroutable, Trigger
from backorder_worker.service_layer.errors import TransientError


class ShipmentState(StrEnum):
    WAITING = "WAITING"
    UNROUTABLE = "UNROUTABLE"
    READY = "READY"
    FUTURE = "FUTURE"
    REASSIGNED = "REASSIGNED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class ShipmentRecord:
    shipment: Shipment
    state: ShipmentState
    entered_at: datetime | None  # orders the waiting room (R7); None if it never waited
    backordered_at: datetime | None
    location_id: str | None = None  # READY/FUTURE shipments: where they were assigned
    expected_date: date | None = None  # FUTURE shipments
    parent_id: str | None = None
    short_picks: int = 0  # short picks reported so far (numbers the remainders)


class ConcurrentRelease(TransientError):
    """Another transaction changed the shipment first: retry the whole transaction."""


class ShipmentsPort(Protocol):
    def shipment(self, shipment_id: str) -> ShipmentRecord | None:
        """Any shipment the worker knows: waiting, unroutable, released, a child, cancelled."""

    def record(self, decision: Decision, now: datetime) -> None:
        """Persists a decision and queues its output event in the outbox.

        Released: the parent leaves the waiting room (or is inserted, at intake) with its
        new state, children are inserted, current draws lower free stock and are written to
        the allocation ledger, future draws raise the supply's promised units. Raises
        ``ConcurrentRelease`` if the parent is no longer waiting (I2).
        Unroutable WAITING: upserts the shipment as waiting with its reasons. UNROUTABLE:
        stores it as unroutable and out of the waiting room. Every decision adds a history
        row for the ``waiting`` command."""

    def cancel(
        self,
        shipment_id: str,
        trigger: Trigger,
        now: datetime,
        report: ShipmentUnroutable | None = None,
    ) -> ShipmentRecord | None:
        """Marks a known shipment cancelled and takes it out of the waiting room (R11), with
        a history row. With ``report`` (a remainder cancelled with its parent) the report
        is queued in the outbox, and named in the history row; the row keeps its reasons.
        Returns the record as it was, or None if the shipment is unknown."""

    def descendants(self, shipment_id: str) -> list[ShipmentRecord]:
        """Every shipment the worker created from this one, at any depth: children of a
        release, split-offs (R8), short-pick remainders (``parent_id`` links them), in
        shipment-id order."""

    def link_remainder(self, remainder_id: str, parent_id: str) -> None:
        """Records that the worker created ``remainder_id`` (a short-pick remainder) from
        ``parent_id``, so that cancelling the parent reaches it (R11)."""

    def count_short_pick(self, shipment_id: str) -> int:
        """Adds one to the shipment's short-pick counter and returns the new count."""

    def replace_lines(self, shipment_id: str, lines: Sequence[Line]) -> None:
        """Sets a released shipment's lines to what is left of them after a short pick
        (the missing units moved to its remainder); lines with no units left are gone."""
