"""The group's assignment strategy: `TopicBalancedAssignor`, every input topic spread out.

kafka-python's cooperative-sticky assignor balances the count of all partitions, not each
topic: two replicas of this worker split the four input topics 8/8 *by topic*, one reading
every `stock-stowed` partition (DEVSTACK.md). `TopicBalancedAssignor` spreads each topic over
the members (assignment.py) and keeps the cooperative protocol (KIP-429), so the rebalance
contract of consumer.py holds as before: only the partitions that move are revoked, each
before its new member gets it, never the whole assignment.

`assignors()` is one consumer's strategy list: this assignor first, kafka-python's
cooperative-sticky second. The coordinator picks a protocol every member lists (the one most
members prefer), so while a replica of an older release is in the group (it lists only
cooperative-sticky) the group stays on cooperative-sticky, and it switches when the last one
leaves; a rollback switches back the same way. Both are cooperative: kafka-python refuses to
mix eager and cooperative assignors in one consumer. Across a switch a member must report the
partitions it owns whichever assignor gave them, or the new leader would hand them straight to
another member. So both share one `_Ownership`, which `track_assignment` binds to the
consumer's real assignment (a lost membership empties it; no assignor hears of that).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from kafka.coordinator.assignors.abstract import AbstractPartitionAssignor, RebalanceProtocol
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.protocol.consumer.metadata import (
    ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
)
from kafka.structs import TopicPartition

from backorder_worker.adapters.kafka.assignment import (
    Member,
    balanced_assignment,
    cooperative_round,
)
from backorder_worker.adapters.kafka.records import PartitionId

log = logging.getLogger(__name__)

# Subscription v2 carries OwnedPartitions (v1) and the GenerationId they were assigned in.
_SUBSCRIPTION_VERSION = 2
_ASSIGNMENT_VERSION = 1


class _Ownership:
    """What this member owns and since which generation, shared by its assignors."""

    def __init__(self) -> None:
        self.source: Callable[[], Iterable[Any]] | None = None
        self.assigned: list[Any] = []
        self.generation = -1

    def partitions(self) -> list[TopicPartition]:
        owned = self.source() if self.source is not None else self.assigned
        return sorted(TopicPartition(tp.topic, tp.partition) for tp in owned or ())

    def record(self, assignment: ConsumerProtocolAssignment, generation: int) -> None:
        self.assigned = assignment.partitions()
        self.generation = generation


class TopicBalancedAssignor(AbstractPartitionAssignor):  # type: ignore[misc]  # untyped
    """Each topic's partitions balanced over the members that read it, cooperatively."""

    name = "topic-balanced"
    version = _ASSIGNMENT_VERSION

    def __init__(self, ownership: _Ownership | None = None) -> None:
        self.ownership = ownership or _Ownership()

    def supported_protocols(self) -> list[RebalanceProtocol]:
        return [RebalanceProtocol.COOPERATIVE]

    def metadata(self, topics: Iterable[str]) -> ConsumerProtocolSubscription:
        by_topic: dict[str, list[int]] = defaultdict(list)
        for tp in self.ownership.partitions():
            by_topic[tp.topic].append(tp.partition)
        return ConsumerProtocolSubscription(
            version=_SUBSCRIPTION_VERSION,
            topics=sorted(topics),
            user_data=b"",
            owned_partitions=[
                ConsumerProtocolSubscription.TopicPartition(topic=t, partitions=ps)
                for t, ps in sorted(by_topic.items())
            ],
            generation_id=self.ownership.generation,
        )

    def on_assignment(self, assignment: ConsumerProtocolAssignment, generation: int) -> None:
        self.ownership.record(assignment, generation)

    def assign(self, cluster: Any, members: Iterable[Any]) -> dict[str, ConsumerProtocolAssignment]:
        group = [_member(m) for m in members]
        partitions: dict[str, Iterable[int]] = {}
        for topic in sorted({t for m in group for t in m.topics}):
            ids = cluster.partitions_for_topic(topic)
            if ids is None:
                log.warning("no partition metadata for topic %s: assigning none of it", topic)
                continue
            partitions[topic] = ids
        target = balanced_assignment(partitions, group)
        now = cooperative_round(target, group)
        held = sum(len(target[m]) - len(now[m]) for m in target)
        if held:
            log.info("%d partition(s) move in the next round, once their owners revoke them", held)
        return {m: _wire(tps) for m, tps in now.items()}


class _SharedCooperativeSticky(CooperativeStickyAssignor):  # type: ignore[misc]  # untyped
    """kafka-python's cooperative-sticky, reporting ownership from the shared `_Ownership`."""

    def __init__(self, ownership: _Ownership) -> None:
        super().__init__()
        self.ownership = ownership

    def metadata(self, topics: Iterable[str]) -> ConsumerProtocolSubscription:
        owned = self.ownership.partitions()
        self.member_assignment = owned or None
        return super().metadata(topics)

    def on_assignment(self, assignment: ConsumerProtocolAssignment, generation: int) -> None:
        super().on_assignment(assignment, generation)
        self.ownership.record(assignment, generation)


def assignors() -> tuple[AbstractPartitionAssignor, ...]:
    """The `partition_assignment_strategy` of one consumer, preferred first (a new tuple per
    consumer: the assignors keep that consumer's ownership)."""
    ownership = _Ownership()
    return (TopicBalancedAssignor(ownership), _SharedCooperativeSticky(ownership))


def track_assignment(strategies: Iterable[Any], owned: Callable[[], Iterable[Any]]) -> None:
    """Makes the assignors of `strategies` report `owned()` (the consumer's `assignment`) as
    the partitions this member owns when it joins."""
    for strategy in strategies:
        ownership = getattr(strategy, "ownership", None)
        if isinstance(ownership, _Ownership):
            ownership.source = owned


def _member(member: Any) -> Member:
    subscription = member.metadata
    owned = frozenset(
        PartitionId(tp.topic, p)
        for tp in getattr(subscription, "owned_partitions", None) or ()
        for p in tp.partitions
    )
    generation = getattr(subscription, "generation_id", None)
    return Member(
        member_id=member.member_id,
        topics=frozenset(subscription.topics),
        owned=owned,
        generation=-1 if generation is None else generation,
        instance_id=getattr(member, "group_instance_id", None),
    )


def _wire(partitions: Iterable[PartitionId]) -> ConsumerProtocolAssignment:
    by_topic: dict[str, list[int]] = defaultdict(list)
    for tp in sorted(partitions):
        by_topic[tp.topic].append(tp.partition)
    return ConsumerProtocolAssignment(_ASSIGNMENT_VERSION, sorted(by_topic.items()), b"")
