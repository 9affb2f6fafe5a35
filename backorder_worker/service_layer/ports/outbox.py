"""The outbox ports: what a transaction queues for publishing (``OutboxPort``), how a
decision becomes a record to publish (``EncodeDecision``, injected into the stores so that
they do not know the wire format), and the outbox as the relay sees it (``Outbox``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from backorder_worker.domain.outcomes import Decision


@dataclass(frozen=True, slots=True)
class OutputRecord:
    """A decision's output event as it will be published."""

    topic: str
    key: bytes
    event_id: str
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


EncodeDecision = Callable[[Decision, datetime], OutputRecord]
"""The record of a decision made at ``now``; the same bytes whichever store calls it."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    key: bytes | None
    value: bytes | None
    error_type: str
    error_message: str
    source_topic: str
    source_partition: int
    source_offset: int
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]
    event_id: str | None  # None for dead letters


class OutboxPort(Protocol):
    """The outbox as one transaction writes it (decisions queue theirs through ``record``)."""

    def dead_letter(self, letter: DeadLetter) -> None:
        """Queues a message for the dead-letter topic, in the outbox."""

    def outbox_ids(self) -> list[int]:
        """Ids of the outbox rows this transaction wrote, in write order (for the relay)."""

    def outbox_rows(self) -> list[OutboxRow]:
        """The outbox rows this transaction wrote, in write order, as they will be read
        back: the relay's fast path publishes them after commit without reading them."""


class Outbox(Protocol):
    """The outbox as the relay sees it. Delivery is at least once: a row may be published
    twice (a crash between publish and mark), never zero times."""

    def rows(self, ids: Sequence[int]) -> list[OutboxRow]:
        """These rows if still unpublished, in id order."""

    def pending(self, limit: int, older_than_s: float) -> list[OutboxRow]:
        """Unpublished rows written more than ``older_than_s`` ago, oldest first; rows
        a publisher holds are skipped (SKIP LOCKED). A read: to publish, ``sweep``."""

    def sweep(
        self,
        limit: int,
        older_than_s: float,
        publish: Callable[[list[OutboxRow]], Sequence[int]],
    ) -> int:
        """Publishes up to ``limit`` of the ``pending`` rows through ``publish`` (which
        returns the ids acknowledged) and marks those, holding the rows locked from the
        read to the mark's commit; returns how many were marked. Rows another publisher
        holds are skipped, so concurrent sweepers never publish one row twice."""

    def deliver(
        self, rows: Sequence[OutboxRow], publish: Callable[[list[OutboxRow]], Sequence[int]]
    ) -> int:
        """As ``sweep``, for these rows (a committed transaction's, in hand): those still
        unpublished and not held by a sweeper are published and marked."""

    def mark_published(self, ids: Sequence[int]) -> None:
        """Marks rows published."""

    def backlog(self) -> tuple[int, float]:
        """Unpublished rows and the age in seconds of the oldest (0 when none)."""
