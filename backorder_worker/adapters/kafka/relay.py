"""From the outbox to Kafka: `OutboxRelay` publishes rows and marks them, `OutboxSweeper` is the
background thread that catches up with what the fast path left behind.

The output events of a transaction are rows in the outbox, committed with the state change.
Right after that commit the worker hands them to `OutboxRelay.publish_rows` (the fast path);
whatever it could not publish — Kafka down, a crash, a stale producer — stays unpublished
and a sweeper publishes it once it is `older_than_s` old. Every replica runs a sweeper, with
no lease: a row is published only under its row lock, held until it is marked (the argument
is at `PostgresOutbox.sweep`), so a crashed worker's rows go out within `older_than_s` plus
one sweep interval through whichever replica sweeps next, without waiting for anything of
the dead one's to expire. Delivery is at least once: a row published but not marked (a
crash in between, a failed mark) is published again, with the same CloudEvents id, and
subscribers dedupe by that id.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Protocol, Self

from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_when_event_set,
    wait_exponential_jitter,
)

from backorder_worker.service_layer.ports import Outbox, OutboxRow

log = logging.getLogger(__name__)

# Bugs, not outages: these propagate even from the fast path, which swallows everything else.
_PROGRAMMING_ERRORS = (TypeError, AttributeError, NameError, LookupError, AssertionError)


CHUNK = 1000
ORPHANED_AFTER_S = 1.0


def orphaned_after_s(session_timeout_s: float) -> float:
    """How old an unpublished row is before the sweepers take it: a second (its writer's
    fast path takes milliseconds, and would only lose the row to a sweeper, not double it),
    and below the consumer session timeout, so that a dead worker's outputs are out within
    session timeout + sweep interval — before its partitions have even moved."""
    return min(ORPHANED_AFTER_S, session_timeout_s / 2)


class RowPublisher(Protocol):
    def publish(self, rows: Sequence[OutboxRow], timeout_s: float) -> list[int]:
        """Sends the rows; returns the ids the broker acknowledged. Never raises for a row."""


class OutboxRelay:
    """Publishes outbox rows through a `RowPublisher` (a `KafkaPublisher`) and marks them."""

    def __init__(self, outbox: Outbox, publisher: RowPublisher, *, timeout_s: float = 10.0) -> None:
        self._outbox = outbox
        self._publisher = publisher
        self._timeout_s = timeout_s

    def publish(self, ids: Sequence[int]) -> int:
        """The fast path, called after the transaction that wrote these rows committed.

        1. Read the rows with these ids that are still unpublished (a sweeper may have
           taken some already), in id order.
        2. Per chunk, lock those no sweeper holds, send them and wait for the broker's
           acknowledgements (`acks=all`), mark the acknowledged ones and commit. A crash
           before that commit republishes them.

        Returns how many rows were published and marked. Any failure of Kafka or of the
        outbox is logged and leaves the rows to the sweeper: this raises only on a bug."""
        return self._publish_chunks(ids, self._outbox.rows)

    def publish_rows(self, rows: Sequence[OutboxRow]) -> int:
        """The fast path when the caller holds the rows its committed transaction wrote:
        as ``publish`` without step 1, so nothing is read back. A row a sweeper holds is
        left to it (``Outbox.deliver``)."""
        by_id = {row.id: row for row in rows}
        return self._publish_chunks(list(by_id), lambda ids: [by_id[i] for i in ids])

    def _publish_chunks(
        self, ids: Sequence[int], rows_of: Callable[[Sequence[int]], list[OutboxRow]]
    ) -> int:
        if not ids:
            return 0
        try:
            # In chunks: a large round's rows are locked a chunk at a time, so the sweepers
            # may take the later chunks meanwhile (each row still goes out once).
            return sum(
                self._outbox.deliver(rows_of(ids[start : start + CHUNK]), self._send)
                for start in range(0, len(ids), CHUNK)
            )
        except _PROGRAMMING_ERRORS:
            raise
        except Exception:
            log.warning("outbox rows %s left for the sweeper", _span(ids), exc_info=True)
            return 0

    def sweep(self, limit: int = 500, older_than_s: float = ORPHANED_AFTER_S) -> int:
        """Publishes up to `limit` unpublished rows older than `older_than_s`, oldest first,
        skipping rows another publisher holds, and marks the acknowledged ones; returns
        how many. Rows that fail stay for the next sweep. An outbox failure (database
        down) raises: the sweeper backs off."""
        return self._outbox.sweep(limit, older_than_s, self._send)

    def _send(self, rows: list[OutboxRow]) -> list[int]:
        published = self._publisher.publish(rows, self._timeout_s)
        if len(published) < len(rows):
            log.warning("%d of %d outbox rows not published", len(rows) - len(published), len(rows))
        return published


class OutboxSweeper:
    """A daemon thread sweeping the outbox every `interval_s`, on every replica: no lease,
    because a row is published only under its row lock (`PostgresOutbox.sweep`), and none
    of a dead replica's to wait out.

    One round sweeps page after page while pages come back full. An exception (in the
    outbox or the publisher) is logged and the round retried after an exponential
    backoff, from `interval_s` up to `max_backoff_s`, until it succeeds or `stop()`."""

    def __init__(
        self,
        relay: OutboxRelay,
        *,
        interval_s: float = 1.0,
        limit: int = 500,
        older_than_s: float = ORPHANED_AFTER_S,
        max_backoff_s: float = 30.0,
        name: str = "outbox-sweeper",
    ) -> None:
        self._relay = relay
        self._interval_s = interval_s
        self._limit = limit
        self._older_than_s = older_than_s
        self._max_backoff_s = max_backoff_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.published_total = 0

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Asks the loop to end and joins the thread; a round in progress finishes first
        (bounded by the publisher's timeout). Safe to call more than once, or before start."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def is_running(self) -> bool:
        return self._thread.is_alive()

    def run_once(self) -> int:
        """One round, on the calling thread: sweeps while pages come back full. Returns how
        many rows it published. Raises what the sweep raises."""
        published = 0
        while not self._stopping.is_set():
            count = self._relay.sweep(self._limit, self._older_than_s)
            published += count
            if count < self._limit:
                break
        self.published_total += published
        return published

    def _run(self) -> None:
        while not self._stopping.is_set():
            retrying = Retrying(
                retry=retry_if_exception_type(Exception),
                wait=wait_exponential_jitter(multiplier=self._interval_s, max=self._max_backoff_s),
                stop=stop_when_event_set(self._stopping),
                sleep=self._sleep,
                before_sleep=before_sleep_log(log, logging.WARNING, exc_info=True),
                reraise=True,
            )
            try:
                retrying(self.run_once)
            except Exception:
                log.warning("outbox sweep failed while stopping", exc_info=True)
            self._stopping.wait(self._interval_s)

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)  # stop() interrupts the backoff


def _span(ids: Sequence[int]) -> str:
    return f"{min(ids)}..{max(ids)} ({len(ids)} rows)" if len(ids) > 1 else str(ids[0])
