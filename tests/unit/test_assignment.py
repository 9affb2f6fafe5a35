"""The per-topic balanced assignment: every input topic spread over 2 and 3 members, the same
answer on any leader, few moves when members come and go, and nothing handed to a member
while another still owns it."""

import random
from collections import Counter
from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from backorder_worker.adapters.kafka import PartitionId
from backorder_worker.adapters.kafka.assignment import (
    Assignment,
    Member,
    balanced_assignment,
    cooperative_round,
    current_owners,
)

# The worker's four input topics, 4 partitions each (deploy/compose.yaml, the `topics` service).
INPUTS = {"stock-stowed": 4, "future-inventory": 4, "shipments": 4, "catalog": 4}
TOPICS = frozenset(INPUTS)
PARTITIONS = {topic: range(count) for topic, count in INPUTS.items()}


def _members(*ids: str, topics: frozenset[str] = TOPICS) -> list[Member]:
    return [Member(member_id, topics) for member_id in ids]


def _owning(members: list[Member], assignment: Assignment, generation: int) -> list[Member]:
    return [
        Member(m.member_id, m.topics, frozenset(assignment.get(m.member_id, ())), generation)
        for m in members
    ]


def _per_topic(assignment: Assignment, topic: str) -> list[int]:
    return sorted(sum(tp.topic == topic for tp in tps) for tps in assignment.values())


def _assert_each_topic_spread(
    assignment: Assignment, partitions: Mapping[str, range], readers: int
) -> None:
    every = [tp for tps in assignment.values() for tp in tps]
    assert Counter(every) == Counter(PartitionId(t, p) for t, ps in partitions.items() for p in ps)
    for topic in partitions:
        counts = _per_topic(assignment, topic)
        assert len(counts) == readers
        assert max(counts) - min(counts) <= 1, (topic, counts)


def test_two_members_get_two_partitions_of_every_topic() -> None:
    target = balanced_assignment(PARTITIONS, _members("a", "b"))

    _assert_each_topic_spread(target, PARTITIONS, readers=2)
    for topic in INPUTS:
        assert _per_topic(target, topic) == [2, 2]


def test_three_members_each_get_one_or_two_of_every_topic_and_five_or_six_in_all() -> None:
    target = balanced_assignment(PARTITIONS, _members("a", "b", "c"))

    _assert_each_topic_spread(target, PARTITIONS, readers=3)
    for topic in INPUTS:
        assert _per_topic(target, topic) == [1, 1, 2]
    assert sorted(len(tps) for tps in target.values()) == [5, 5, 6]


def test_any_leader_computes_the_same_assignment_whatever_the_order_members_arrive_in() -> None:
    members = _members("m-3", "m-1", "m-2")

    first = balanced_assignment(PARTITIONS, members)

    assert balanced_assignment(PARTITIONS, list(reversed(members))) == first
    assert balanced_assignment(PARTITIONS, sorted(members, key=lambda m: m.member_id)) == first


def test_a_rebalance_with_the_same_members_moves_nothing() -> None:
    members = _members("a", "b", "c")
    target = balanced_assignment(PARTITIONS, members)
    owning = _owning(members, target, generation=1)

    assert balanced_assignment(PARTITIONS, owning) == target
    assert cooperative_round(target, owning) == target


def test_a_third_member_takes_only_what_it_needs_and_gets_it_once_the_owners_revoked_it() -> None:
    two = _members("a", "b")
    before = balanced_assignment(PARTITIONS, two)
    joined = [*_owning(two, before, generation=1), Member("c", TOPICS)]

    target = balanced_assignment(PARTITIONS, joined)
    first = cooperative_round(target, joined)

    _assert_each_topic_spread(target, PARTITIONS, readers=3)
    # a and b keep what they had up to their share; only the newcomer's partitions move.
    assert target["a"] <= before["a"] and target["b"] <= before["b"]
    assert len(target["c"]) == 5
    # Round one: nothing moves to c while a or b still owns it; a and b give it up.
    assert first == {"a": target["a"], "b": target["b"], "c": set()}
    # Round two: a and b revoked, c gets its share; the target did not change on the way.
    after_revoke = _owning(joined, first, generation=2)
    assert balanced_assignment(PARTITIONS, after_revoke) == target
    assert cooperative_round(target, after_revoke) == target


def test_when_a_member_leaves_the_others_keep_theirs_and_share_its_partitions() -> None:
    three = _members("a", "b", "c")
    before = balanced_assignment(PARTITIONS, three)
    survivors = _owning(three[:2], before, generation=1)

    target = balanced_assignment(PARTITIONS, survivors)

    _assert_each_topic_spread(target, PARTITIONS, readers=2)
    assert before["a"] <= target["a"] and before["b"] <= target["b"]
    assert cooperative_round(target, survivors) == target  # nobody owns c's partitions


def test_a_topic_is_spread_only_over_the_members_that_read_it() -> None:
    members = [
        Member("a", TOPICS),
        Member("b", TOPICS),
        Member("c", frozenset({"stock-stowed"})),
    ]

    target = balanced_assignment(PARTITIONS, members)

    assert _per_topic(target, "stock-stowed") == [1, 1, 2]
    assert {tp.topic for tp in target["c"]} == {"stock-stowed"}
    for topic in TOPICS - {"stock-stowed"}:
        assert sorted(sum(tp.topic == topic for tp in target[m]) for m in "ab") == [2, 2]


def test_a_claim_from_a_newer_generation_wins_and_a_tie_counts_as_nobodys() -> None:
    tp, other = PartitionId("shipments", 0), PartitionId("shipments", 1)
    members = [
        Member("stale", TOPICS, frozenset({tp}), generation=3),
        Member("fresh", TOPICS, frozenset({tp, other}), generation=4),
        Member("twin", TOPICS, frozenset({other}), generation=4),
    ]

    assert current_owners(members) == {tp: "fresh"}


def test_a_claim_on_a_topic_the_member_no_longer_reads_is_ignored() -> None:
    tp = PartitionId("catalog", 0)
    members = [Member("a", frozenset({"shipments"}), frozenset({tp}), generation=2)]

    assert current_owners(members) == {}


@settings(max_examples=200, deadline=None)
@given(
    counts=st.lists(st.integers(0, 9), min_size=1, max_size=5),
    member_count=st.integers(1, 6),
    rng=st.randoms(use_true_random=False),
)
def test_any_group_gets_every_topic_balanced_totals_within_one_and_no_double_owner(
    counts: list[int], member_count: int, rng: random.Random
) -> None:
    partitions = {f"t{i}": range(n) for i, n in enumerate(counts)}
    topics = frozenset(partitions)
    ids = [f"m{i}" for i in range(member_count)]
    # The members start from the balanced assignment of an earlier, random part of the group.
    earlier_ids = [member_id for member_id in ids if rng.random() < 0.6]
    earlier = balanced_assignment(partitions, _members(*earlier_ids, topics=topics))
    members = _owning(_members(*ids, topics=topics), earlier, generation=5)

    target = balanced_assignment(partitions, members)
    now = cooperative_round(target, members)

    _assert_each_topic_spread(target, partitions, readers=member_count)
    totals = [len(tps) for tps in target.values()]
    assert max(totals) - min(totals) <= 1
    for member_id, tps in now.items():
        assert tps <= target[member_id]
        assert all(tp in earlier.get(member_id, ()) or tp not in _owned(earlier) for tp in tps)
    # Sticky: of each topic a member keeps as many of its partitions as its new share allows.
    for member_id in earlier_ids:
        for topic in topics:
            had = {tp for tp in earlier[member_id] if tp.topic == topic}
            gets = {tp for tp in target[member_id] if tp.topic == topic}
            assert len(had & gets) == min(len(had), len(gets))


def _owned(assignment: Assignment) -> set[PartitionId]:
    return {tp for tps in assignment.values() for tp in tps}
