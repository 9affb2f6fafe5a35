"""What handling an event came to, and what every handler is given."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.domain.outcomes import Decision
from backorder_worker.domain.receiving import SupplyCut
from backorder_worker.service_layer.commands import Envelope
from backorder_worker.service_layer.ports import Store


@dataclass(frozen=True, slots=True)
class Applied:
    decisions: list[Decision] = field(default_factory=list)
    note: str | None = None  # a documented no-op says why (e.g. a stale stock level)
    supply_cut: SupplyCut | None = None  # promises a future-inventory update left uncovered


@dataclass(frozen=True, slots=True)
class Duplicate:
    """The event id was applied before: acknowledge, do nothing."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """The input refers to something the worker cannot apply: dead-letter it."""

    error_type: str
    message: str


Outcome = Applied | Duplicate | Rejected


@dataclass(frozen=True, slots=True)
class Context:
    store: Store
    policy: ReleasePolicy
    now: datetime
    envelope: Envelope
