"""The offset book of a `KafkaSource`: what the member committed, and what it still owes.

Per partition it keeps two next offsets: the one a refused commit left (sent again with
the next commit or poll while the partition stays assigned) and the highest committed
while the partition is owned (an offset at or below it is not sent again: offsets only
move forward). Both are dropped for a partition that leaves the member, or comes back to
it: the owner in between may have committed past them. The rebalance listener changes the
book on kafka-python's IO thread, the polling thread reads and writes it around commits; a
lock makes that safe. No Kafka call is made here: consumer.py makes them (see its
docstring for the commit contract this book serves).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from backorder_worker.adapters.kafka.records import PartitionId

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CommitPlan:
    """One commit: what to send, and what was skipped or is sent again."""

    offsets: dict[PartitionId, int]  # every offset considered: asked for, and kept ones
    request: dict[PartitionId, int]  # assigned, above the committed one: to send
    stale: list[PartitionId]  # no longer assigned: skipped (the new owner re-reads them)
    retried: list[PartitionId]  # in `request`, kept from a refused commit


class OffsetBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[PartitionId, int] = {}
        self._committed: dict[PartitionId, int] = {}

    def plan(
        self, asked: Mapping[PartitionId, int], assigned: frozenset[PartitionId]
    ) -> CommitPlan:
        """The commit of `asked` (next offsets) with the kept ones; forgets kept offsets of
        partitions no longer assigned, and those already committed."""
        with self._lock:
            offsets = dict(self._pending)
            for tp, offset in asked.items():
                offsets[tp] = max(offset, offsets.get(tp, offset))
            stale = sorted(tp for tp in offsets if tp not in assigned)
            request = {
                tp: offset
                for tp, offset in offsets.items()
                if tp in assigned and offset > self._committed.get(tp, -1)
            }
            for tp in stale:
                self._pending.pop(tp, None)
            for tp in [tp for tp, o in self._pending.items() if o <= self._committed.get(tp, -1)]:
                del self._pending[tp]
            retried = sorted(tp for tp in request if tp in self._pending)
        return CommitPlan(offsets, request, stale, retried)

    def refused(
        self, request: Mapping[PartitionId, int], owned: Callable[[], frozenset[PartitionId]]
    ) -> None:
        """Keeps a refused commit's offsets for the next attempt, only for the partitions
        still `owned()` (read under the lock: the listener may have dropped some)."""
        with self._lock:
            still = owned()
            self._pending.update((tp, o) for tp, o in request.items() if tp in still)

    def committed(self, request: Mapping[PartitionId, int]) -> None:
        """Notes a commit the broker accepted."""
        with self._lock:
            for tp, offset in request.items():
                if offset > self._committed.get(tp, -1):
                    self._committed[tp] = offset
                if self._pending.get(tp, offset) <= offset:
                    self._pending.pop(tp, None)

    def pending(self) -> dict[PartitionId, int]:
        """Offsets a refused commit left, per partition, still to be committed."""
        with self._lock:
            return dict(self._pending)

    def forget(self, partitions: Iterable[PartitionId], *, left: bool) -> None:
        """Drops both offsets of `partitions`: they `left` the member (a kept offset dropped
        is logged), or came back to it."""
        with self._lock:
            gone = set(partitions)
            dropped = sorted(tp for tp in gone if tp in self._pending)
            for tp in gone:
                self._pending.pop(tp, None)
                self._committed.pop(tp, None)
        if dropped and left:
            log.info(
                "dropping the uncommitted offsets of %s: the new owner re-reads from the last"
                " committed one",
                ", ".join(map(str, dropped)),
            )
