"""Which group member reads which partition: every topic spread evenly, few partitions moved.

The pure core of `TopicBalancedAssignor` (assignor.py): member names and `PartitionId`s in,
sets of `PartitionId`s out, no kafka-python. Two steps:

1. `balanced_assignment`, the target. Topic by topic (in name order), each member subscribed
   to a topic of n partitions and m readers gets ⌊n/m⌋ or ⌈n/m⌉ of them. The larger shares go
   to the members holding the fewest partitions so far (so when every member reads the same
   topics, totals differ by one at most too), then to members that already hold more than
   ⌊n/m⌋ of the topic (sticky), then in member order. A member keeps the partitions it owns up
   to its share, lowest numbers first; the others go, in partition order, to members with room,
   in member order. Members are ordered static first (by `group.instance.id`), then by member
   id, as kafka-python's round-robin does: the same input gives the same target on any leader.
2. `cooperative_round`, what is handed out now (KIP-429): a partition another member owns is
   held back. Its owner sees it missing, revokes it and rejoins, and the next round gives it
   to its target, so no partition is ever handed to a member while another still owns it.

A member's claim counts for the topics it still reads. Two members claiming one partition: the
claim from the newer generation wins (the other member was assigned it before and missed a
rebalance since); two of the same generation cancel out, each drops it unless it is its target.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from backorder_worker.adapters.kafka.records import PartitionId

Assignment = dict[str, set[PartitionId]]
"""Partitions per member id."""


@dataclass(frozen=True)
class Member:
    """A group member as the leader sees it in a join: what it reads and what it owns."""

    member_id: str
    topics: frozenset[str]
    owned: frozenset[PartitionId] = frozenset()
    generation: int = -1
    instance_id: str | None = None

    @property
    def order(self) -> tuple[int, str]:
        if self.instance_id is not None:
            return (0, self.instance_id)
        return (1, self.member_id)


def current_owners(members: Iterable[Member]) -> dict[PartitionId, str]:
    """The member id that owns each claimed partition, by the rules of the module docstring."""
    claims: dict[PartitionId, list[tuple[int, str]]] = {}
    for member in members:
        for tp in member.owned:
            if tp.topic in member.topics:
                claims.setdefault(tp, []).append((member.generation, member.member_id))
    owners: dict[PartitionId, str] = {}
    for tp, claimants in claims.items():
        newest = max(generation for generation, _ in claimants)
        at_newest = [member_id for generation, member_id in claimants if generation == newest]
        if len(at_newest) == 1:
            owners[tp] = at_newest[0]
    return owners


def balanced_assignment(
    partitions: Mapping[str, Iterable[int]], members: Sequence[Member]
) -> Assignment:
    """The target: each topic of `partitions` (topic → partition ids) spread over its readers.
    Every member is in the result, with an empty set when it gets nothing."""
    ordered = sorted(members, key=lambda m: m.order)
    owners = current_owners(ordered)
    target: Assignment = {m.member_id: set() for m in ordered}
    for topic in sorted(partitions):
        readers = [m.member_id for m in ordered if topic in m.topics]
        if not readers:
            continue
        tps = [PartitionId(topic, p) for p in sorted(set(partitions[topic]))]
        room = _shares(tps, readers, owners, target)
        free: list[PartitionId] = []
        for tp in tps:
            owner = owners.get(tp)
            if owner is not None and room.get(owner, 0) > 0:
                target[owner].add(tp)
                room[owner] -= 1
            else:
                free.append(tp)
        for tp in free:
            reader = next(r for r in readers if room[r] > 0)
            target[reader].add(tp)
            room[reader] -= 1
    return target


def cooperative_round(
    target: Mapping[str, set[PartitionId]], members: Iterable[Member]
) -> Assignment:
    """The part of `target` that can be handed out now: without the partitions that still
    belong to another member (they move in the next round, once revoked)."""
    owners = current_owners(members)
    return {
        member_id: {tp for tp in tps if owners.get(tp, member_id) == member_id}
        for member_id, tps in target.items()
    }


def _shares(
    tps: Sequence[PartitionId],
    readers: Sequence[str],
    owners: Mapping[PartitionId, str],
    target: Mapping[str, set[PartitionId]],
) -> dict[str, int]:
    """How many of `tps` each reader gets: ⌊n/m⌋, and one more for the first n mod m readers
    ranked by partitions held so far, then holding more than ⌊n/m⌋ of these, then order."""
    base, extra = divmod(len(tps), len(readers))
    held = Counter(owners[tp] for tp in tps if tp in owners)
    ranked = sorted(
        range(len(readers)),
        key=lambda i: (len(target[readers[i]]), held[readers[i]] <= base, i),
    )
    larger = {readers[i] for i in ranked[:extra]}
    return {reader: base + (reader in larger) for reader in readers}
