"""The inbox port: which events this transaction applies, each exactly once.

A claim is written in the transaction of the event's effect, so it commits or rolls back
with it: a redelivered event finds its claim and is acknowledged, not applied again.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol


class Claim(StrEnum):
    NEW = "NEW"  # first time: apply it
    DUPLICATE = "DUPLICATE"  # same id, same content: already applied, acknowledge
    CONFLICT = "CONFLICT"  # same id, other content: a producer bug, dead-letter it


class InboxPort(Protocol):
    def claim_event(self, event_id: str, event_type: str, digest: str) -> Claim:
        """Records the event id in the inbox; says whether it is new. The row commits or
        rolls back with the event's effect, so an event is applied exactly once."""

    def claim_events(self, claims: Sequence[tuple[str, str, str]]) -> None:
        """Claims many (event_id, event_type, digest) at once, in one statement; the first
        ``claim_event`` of each id then answers without asking again."""

    def release_claim(self, event_id: str) -> None:
        """Forgets this transaction's claim of an event that had no effect (rejected), so
        that a replay of it after a fix applies."""
