"""The worker's source: one member of the consumer group, reading the input topics.

`KafkaSource` wraps kafka-python's `KafkaConsumer` with the settings this worker needs
(DEVSTACK.md): no auto-commit, a new group starts at the **earliest** offset (SPEC §3),
per-topic cooperative assignment, and the session / heartbeat / poll-interval / batch-size values
from `KafkaSettings`. It hands out frozen `SourceRecord`s and commits only what it is told to.

What the worker may assume (the rebalance contract):

1. Assignment changes only inside `poll()` and `close()`. Between two polls the set of
   partitions is stable, so the records of one poll can be processed and committed without
   a partition moving underneath. The membership itself can end between polls: kafka-python
   3 heartbeats from its IO thread, and leaves the group when `max_poll_interval_ms` passes
   without a poll. `assignment()` still shows the partitions until the next `poll()`, and a
   commit meanwhile returns False.
2. When partitions leave (revoked in a rebalance, lost with the membership, or given up by
   `close()`), the `on_revoked` callback runs **before** `poll()`/`close()` returns.
   It runs on kafka-python's IO thread while the polling thread is blocked in that call, so
   it must be quick and must not call this `KafkaSource`. It should drop in-flight work for
   those partitions: another member will read them from the last committed offset.
3. Commits are at least once. `commit()` only commits partitions still assigned; it returns
   False (and logs) when the group has moved on (`CommitFailedError`), a rebalance is in
   progress, the coordinator did not answer in time or the broker is unreachable. A refused
   offset is **kept**: it goes out again with the next `commit()`, and `poll()` retries it
   first, so a partition that receives nothing more still gets its offset committed (else
   the group would show a lag for work that is done until the next rebalance). Kept
   offsets, and why offsets only move forward: offsets.py. Either way the records
   concerned may be redelivered, to this member or the new owner; the Postgres inbox
   recognises them, so a redelivery costs time, never a second effect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.errors import (
    CommitFailedError,
    KafkaError,
    KafkaTimeoutError,
    RebalanceInProgressError,
)

from backorder_worker.adapters.kafka.assignor import assignors, track_assignment
from backorder_worker.adapters.kafka.offsets import OffsetBook
from backorder_worker.adapters.kafka.records import (
    PartitionId,
    SourceRecord,
    from_consumer_record,
    next_offsets,
)
from backorder_worker.settings import KafkaSettings, kafka_client_kwargs

log = logging.getLogger(__name__)

PartitionsRevoked = Callable[[frozenset[PartitionId], bool], None]
"""`on_revoked(partitions, lost)`: `lost` is True when the membership was lost (poll interval
or session expired, fenced): commits for those partitions can no longer succeed. An exception
it raises is re-raised by kafka-python from `poll()`/`close()` as a `KafkaError`, after the
rebalance completed."""

# Any Kafka error refuses a commit (the broker down included): the records are redelivered
# and the inbox makes that harmless, so a failed commit never stops the worker.
_COMMIT_REFUSED = (CommitFailedError, RebalanceInProgressError, KafkaTimeoutError, KafkaError)

# How long the broker may hold a fetch that finds nothing (kafka-python's default: 500 ms).
# Kafka answers a waiting fetch when data arrives; Tansu up to ~a quarter of this late: the
# idle latency (docs/performance.md), for ~2 % of a core more while idle.
FETCH_MAX_WAIT_MS = 100


def consumer_config(
    settings: KafkaSettings,
    *,
    client_id: str | None = None,
    group_instance_id: str | None = None,
) -> dict[str, Any]:
    """The `KafkaConsumer` keywords for a worker of this group."""
    config: dict[str, Any] = {
        "group_id": settings.group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "partition_assignment_strategy": assignors(),  # each topic spread, cooperatively
        "session_timeout_ms": settings.session_timeout_ms,
        "heartbeat_interval_ms": settings.heartbeat_interval_ms,
        "max_poll_interval_ms": settings.max_poll_interval_ms,
        "max_poll_records": settings.max_poll_records,
        "fetch_max_wait_ms": FETCH_MAX_WAIT_MS,
        **kafka_client_kwargs(settings),  # bootstrap_servers: "host:port[,host:port]"
    }
    if client_id is not None:
        config["client_id"] = client_id
    if group_instance_id is not None:
        config["group_instance_id"] = group_instance_id
    return config


class KafkaSource:
    """A consumer-group member reading `topics`; not thread-safe: one polling thread."""

    def __init__(
        self,
        settings: KafkaSettings,
        topics: Sequence[str],
        *,
        on_revoked: PartitionsRevoked | None = None,
        client_id: str | None = None,
        group_instance_id: str | None = None,
        commit_timeout_ms: int = 10_000,
    ) -> None:
        """Connects to the cluster (raises `KafkaTimeoutError` when no broker answers within
        `connect_timeout_s`) and subscribes; the group is joined by the first `poll()`.

        With `group_instance_id` the member is static: `close()` does not leave the group,
        and its partitions wait for it for `session_timeout_ms` before they move."""
        self._topics = tuple(topics)
        self._on_revoked = on_revoked
        self._commit_timeout_ms = commit_timeout_ms
        self._all_paused = False
        self._closed = False
        self._offsets = OffsetBook()  # refused offsets kept, the highest committed
        config = consumer_config(settings, client_id=client_id, group_instance_id=group_instance_id)
        self._consumer = KafkaConsumer(**config)
        track_assignment(config["partition_assignment_strategy"], self._consumer.assignment)
        self._consumer.subscribe(list(self._topics), listener=_Listener(self))

    @property
    def topics(self) -> tuple[str, ...]:
        return self._topics

    def poll(self, timeout_ms: int) -> list[SourceRecord]:
        """Up to `max_poll_records` records, by topic and partition, each partition in offset
        order; empty after `timeout_ms` without records. Joins or rejoins the group when
        needed, so the revoke callback may run during this call (see the module docstring).

        Call it at least every `max_poll_interval_ms`, also while busy (pause first): a
        member that does not is removed from the group and its next commit fails.

        Offsets a refused commit left are committed first (see `commit`); while the broker
        is unreachable that attempt can add up to `commit_timeout_ms` to the call."""
        if self.pending_offsets():
            self.commit({})
        batches = self._consumer.poll(timeout_ms=timeout_ms)
        records: list[SourceRecord] = []
        for tp in sorted(batches):
            records.extend(from_consumer_record(r) for r in batches[tp])
        return records

    def commit(self, processed: Iterable[SourceRecord] | Mapping[PartitionId, int]) -> bool:
        """Commits, synchronously, the position after the processed records, together with
        any offsets an earlier refused commit left.

        `processed` is either the records whose effect is durable (the highest offset per
        partition plus one is committed) or a mapping of partition to the **next** offset to
        read (already plus one, as `next_offsets` builds it). Call it only after the effect
        is committed in Postgres: a committed offset is never read again by the group.

        Partitions no longer assigned are skipped (committing them could move the new
        owner's offset backwards), and so is an offset not above the one this member last
        committed for its partition. Returns True when every offset asked for (the kept
        ones included) is committed; False (logged) when some were skipped as not assigned
        or the commit was refused: rule 3 of the module docstring."""
        asked = dict(processed) if isinstance(processed, Mapping) else next_offsets(processed)
        plan = self._offsets.plan(asked, self.assignment())
        request, stale = plan.request, plan.stale
        if stale:
            log.info(
                "not committing %s: no longer assigned, the new owner re-reads them",
                ", ".join(f"{tp} {plan.offsets[tp]}" for tp in stale),
            )
        if not request:
            return not stale
        # OffsetAndMetadata has three fields in kafka-python 3.x: offset, metadata,
        # leader_epoch (-1: unknown, the broker skips the epoch check).
        wire = {
            TopicPartition(tp.topic, tp.partition): OffsetAndMetadata(offset, "", -1)
            for tp, offset in request.items()
        }
        try:
            self._consumer.commit(wire, timeout_ms=self._commit_timeout_ms)
        except _COMMIT_REFUSED as exc:
            self._offsets.refused(request, self.assignment)  # kept only while still owned
            log.warning(
                "commit of %s refused (%s: %s); kept for the next attempt",
                _describe(wire),
                type(exc).__name__,
                exc,
            )
            return False
        self._offsets.committed(request)
        if plan.retried:
            log.info(
                "committed %s, kept from a refused commit",
                ", ".join(f"{tp} {request[tp]}" for tp in plan.retried),
            )
        log.debug("committed %s", _describe(wire))
        return not stale

    def pending_offsets(self) -> dict[PartitionId, int]:
        """Offsets a refused commit left, per partition, still to be committed."""
        return self._offsets.pending()

    def assignment(self) -> frozenset[PartitionId]:
        """The partitions this member owns now (empty before the first join completes)."""
        return frozenset(PartitionId(tp.topic, tp.partition) for tp in self._consumer.assignment())

    def is_ready(self) -> bool:
        """True once the member owns at least one partition."""
        return bool(self._consumer.assignment())

    def lag(self) -> dict[PartitionId, int]:
        """Records not yet read, per assigned partition: the high watermark seen in the last
        fetch response minus the position. Partitions not fetched yet are left out.

        The high watermark comes from fetch responses, not from `end_offsets` (wrong on
        Tansu after batched writes, DEVSTACK.md); for a paused partition it is as old as
        the last fetch before the pause."""
        lags: dict[PartitionId, int] = {}
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            if highwater is None:
                continue
            try:
                position = self._consumer.position(tp, timeout_ms=0)
            except KafkaTimeoutError:
                position = None
            if position is not None:
                lags[PartitionId(tp.topic, tp.partition)] = max(0, highwater - position)
        return lags

    def pause_all(self) -> None:
        """Stops fetching from every partition, including partitions assigned later, until
        `resume_all()`. Keep calling `poll()` while paused: it keeps the membership alive
        (a paused poll returns no records)."""
        self._all_paused = True
        self._consumer.pause(*self._consumer.assignment())

    def resume_all(self) -> None:
        """Fetches again from every assigned partition."""
        self._all_paused = False
        self._consumer.resume(*self._consumer.assignment())

    def close(self, timeout_ms: int = 5_000) -> None:
        """Gives the partitions up (the revoke callback runs) and leaves the group, so they
        move to other members at once. Commits nothing new (commit first), but tries once
        more the offsets a refused commit left. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.pending_offsets():
            self.commit({})
        self._consumer.close(autocommit=False, timeout_ms=timeout_ms)

    def _partitions_left(self, partitions: Iterable[Any], lost: bool) -> None:
        gone = frozenset(PartitionId(tp.topic, tp.partition) for tp in partitions)
        if not gone:
            return
        self._offsets.forget(gone, left=True)
        log.info(
            "partitions %s: %s", "lost" if lost else "revoked", ", ".join(map(str, sorted(gone)))
        )
        if self._on_revoked is not None:
            self._on_revoked(gone, lost)

    def _partitions_added(self, partitions: Iterable[Any]) -> None:
        added = list(partitions)
        if not added:
            return
        # A partition that comes back starts clean: while away, another member may have
        # committed past what this one kept.
        self._offsets.forget((PartitionId(tp.topic, tp.partition) for tp in added), left=False)
        log.info("partitions assigned: %s", ", ".join(str(PartitionId(*tp)) for tp in added))
        if self._all_paused:
            # Runs on the IO thread during poll(); pause() only flags local state.
            self._consumer.pause(*added)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # kafka-python is untyped
    """Forwards kafka-python's rebalance hooks (run on its IO thread) to the source.

    An exception raised here is re-raised by kafka-python from `poll()` as a `KafkaError`."""

    def __init__(self, source: KafkaSource) -> None:
        self._source = source

    def on_partitions_revoked(self, revoked: Iterable[Any]) -> None:
        self._source._partitions_left(revoked, lost=False)

    def on_partitions_lost(self, lost: Iterable[Any]) -> None:
        self._source._partitions_left(lost, lost=True)

    def on_partitions_assigned(self, assigned: Iterable[Any]) -> None:
        self._source._partitions_added(assigned)


def _describe(offsets: Mapping[Any, Any]) -> str:
    return ", ".join(f"{PartitionId(*tp)} {om.offset}" for tp, om in sorted(offsets.items()))
