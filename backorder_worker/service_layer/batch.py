"""The worker's main use case: a batch of decoded events applied in one transaction.

The worker's consume loop and `replay` hand it what they decoded from one poll; the edge
(``entrypoints/worker/batch.py``) has already turned each record into a command in its
envelope, or into the reason it is not one. Per batch, in this order:

1. open one transaction for the whole batch; claim every event id in the inbox at once
   (a seen id has no effect), lock every SKU the batch names (and the locations whose
   stock it raises or that it changes) in one statement and one order, waiting — with
   them any lock an earlier run of this batch found held by another transaction
   (``locking.py``: later lock calls only try, and a refused one re-runs the transaction
   at once, so no deadlock can form); learn which SKUs anybody waits for, and read ahead
   their listings, the first waiting-room page of each SKU the batch raises and the
   shipments and supplies it looks up — a few statements for the batch; the stock of the
   locked SKUs is then read once, at its first use;
2. apply each event in order: the core's decisions, the state, the outbox rows. What the
   edge could not decode, and a rejected event (an unknown shipment, a reused id, which
   gives its claim back), becomes a dead letter in the same transaction. An event whose
   handler fails with anything but a ``TransientError`` (a bug, bad data the decoder let
   through) rolls the batch back; the batch is then run again with that event
   dead-lettered instead of applied, so one poison event costs one re-run, not a stalled
   partition;
3. commit: every effect of the batch, its inbox rows and its outbox rows are durable
   together. A ``TransientError`` (connection, deadlock, a lost race) runs the whole
   transaction again through the injected ``retry``; when it gives up the error
   propagates and the caller stops *without* committing offsets, so the batch is
   redelivered. A dry run rolls back instead, keeping what it would have done.

Publishing the outbox and committing offsets come after, in the caller. Why a whole batch
in one transaction: on two cores the limit is round trips, not Kafka; a stock event for a
SKU nobody waits for costs no statement of its own here, its units join the batch's one
upsert of positions (see docs/performance.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from backorder_worker.domain.model import ReleasePolicy
from backorder_worker.service_layer.commands import Envelope
from backorder_worker.service_layer.errors import Retry, TransientError, run_once
from backorder_worker.service_layer.handlers import handle
from backorder_worker.service_layer.locking import LockContended, LockNeeds, locks_of_all
from backorder_worker.service_layer.ports import DeadLetter, OutboxRow, Store, UnitOfWork
from backorder_worker.service_layer.results import Duplicate, Outcome, Rejected
from backorder_worker.service_layer.rounds import read_ahead_for

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One record of a batch as the edge decoded it: a command in its envelope, or (no
    envelope) the reason it is not one. ``letter`` shapes its dead letter from an error
    type and message."""

    envelope: Envelope | None
    letter: Callable[[str, str], DeadLetter]
    invalid: Rejected | None = None


@dataclass
class BatchOutcome:
    """What a batch came to: one outcome per item, in order, and the outbox rows written."""

    applied: int = 0
    duplicates: int = 0
    invalid: int = 0  # dead-lettered: not decoded, rejected or poison
    outcomes: list[Outcome] = field(default_factory=list)
    outbox_rows: list[OutboxRow] = field(default_factory=list)  # for the relay's fast path
    event_seconds: list[float] = field(default_factory=list)
    lock_reruns: int = 0  # runs again at once for locks held elsewhere (locking.py, rule 3)


BeforeCommit = Callable[[BatchOutcome], None]


class ApplyBatch:
    """Applies batches of decoded events with ``uow``, deciding at ``clock()``."""

    def __init__(
        self,
        uow: UnitOfWork,
        policy: ReleasePolicy,
        clock: Callable[[], datetime],
        retry: Retry = run_once,
    ) -> None:
        self.uow, self.policy, self.clock, self.retry = uow, policy, clock, retry

    def __call__(
        self,
        items: Sequence[BatchItem],
        *,
        dry_run: bool = False,
        before_commit: BeforeCommit | None = None,
    ) -> BatchOutcome:
        """Steps 1 to 3 of the module doc. ``before_commit`` hears the outcome when
        everything is written and the commit is next (not in a dry run)."""
        run = _Run(items, dry_run, before_commit)
        while True:
            try:
                outcome = self.retry(lambda: self._transaction(run))
            except _EventFailed as failed:
                run.poisoned[failed.index] = failed.outcome  # run the batch again without it
                continue
            except _DryRun as rolled_back:
                outcome = rolled_back.outcome
            outcome.lock_reruns = run.lock_reruns
            return outcome

    def _transaction(self, run: _Run) -> BatchOutcome:
        while True:
            try:
                return self._once(run)
            except LockContended as contended:
                # Another transaction holds a lock a round needed: run again at once,
                # waiting for it in the first lock call (it is rolled back already).
                run.first_locks |= contended.needs
                run.lock_reruns += 1
                log.debug(
                    "locks held elsewhere; the batch runs again",
                    extra={"locks": str(contended.needs)},
                )

    def _once(self, run: _Run) -> BatchOutcome:
        outcome = BatchOutcome()
        live = [
            item.envelope
            for i, item in enumerate(run.items)
            if item.envelope is not None and i not in run.poisoned
        ]
        run.handling = None
        try:
            with self.uow() as store:
                store.claim_events([(e.event_id, e.event_type, e.digest) for e in live])
                commands = [e.command for e in live]
                needs = locks_of_all(commands) | run.first_locks
                store.lock(needs)
                waited_for = store.waiting_skus(needs.skus)
                store.read_ahead(read_ahead_for(commands, waited_for, self.policy.release_order))
                for index, item in enumerate(run.items):
                    self._one(store, run, index, item, outcome)
                outcome.outbox_rows = store.outbox_rows()
                if run.dry_run:
                    raise _DryRun(outcome)
                if run.before_commit is not None:
                    run.before_commit(outcome)
        except (TransientError, _DryRun):
            raise
        except Exception as error:
            failing = run.handling
            envelope = None if failing is None else run.items[failing].envelope
            if failing is None or envelope is None:
                raise
            # The transaction has rolled back: a handler failed for good on this event.
            log.exception(
                "event failed; the batch runs again with it dead-lettered",
                extra={"event_id": envelope.event_id},
            )
            rejected = Rejected("processing-error", f"{type(error).__name__}: {error}"[:1000])
            raise _EventFailed(failing, rejected) from error
        return outcome

    def _one(
        self, store: Store, run: _Run, index: int, item: BatchItem, outcome: BatchOutcome
    ) -> None:
        envelope = item.envelope
        if envelope is None:
            assert item.invalid is not None
            result: Outcome = item.invalid
        else:
            result = run.poisoned.get(index) or self._apply(store, run, index, envelope, outcome)
        outcome.outcomes.append(result)
        if isinstance(result, Duplicate):
            outcome.duplicates += 1
        elif isinstance(result, Rejected):
            store.dead_letter(item.letter(result.error_type, result.message))
            outcome.invalid += 1
        else:
            outcome.applied += 1

    def _apply(
        self, store: Store, run: _Run, index: int, envelope: Envelope, outcome: BatchOutcome
    ) -> Outcome:
        started = time.perf_counter()
        run.handling = index  # cleared only when the handler returns: `_once` reads it
        try:
            result = handle(envelope, store, self.policy, self.clock())
        finally:
            outcome.event_seconds.append(time.perf_counter() - started)
        run.handling = None
        return result


@dataclass
class _Run:
    """One batch across its runs: the events found poison, and the locks found held
    elsewhere, which the next run takes in its first, waiting, lock call."""

    items: Sequence[BatchItem]
    dry_run: bool
    before_commit: BeforeCommit | None
    poisoned: dict[int, Rejected] = field(default_factory=dict)
    first_locks: LockNeeds = field(default_factory=LockNeeds)
    lock_reruns: int = 0
    handling: int | None = None  # the index of the event whose handler runs now


class _EventFailed(Exception):
    """One event failed for good: the batch runs again without it."""

    def __init__(self, index: int, outcome: Rejected) -> None:
        super().__init__(outcome.message)
        self.index, self.outcome = index, outcome


class _DryRun(Exception):
    """Rolls a dry run's transaction back while keeping what it would have done."""

    def __init__(self, outcome: BatchOutcome) -> None:
        super().__init__("dry run")
        self.outcome = outcome
