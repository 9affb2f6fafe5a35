"""The kafka-python side of the assignor: what a member tells the leader when it joins, what
the leader hands out, and the cooperative-sticky fallback listed second for rolling deploys."""

from dataclasses import dataclass
from typing import Any

from kafka.coordinator.assignors.abstract import RebalanceProtocol
from kafka.protocol.consumer.metadata import (
    ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
)
from kafka.structs import TopicPartition

from backorder_worker.adapters.kafka.assignor import (
    TopicBalancedAssignor,
    assignors,
    track_assignment,
)

INPUTS = ("catalog", "future-inventory", "shipments", "stock-stowed")


class _Cluster:
    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return {0, 1, 2, 3} if topic in INPUTS else None


@dataclass
class _JoinMember:
    member_id: str
    metadata: Any
    group_instance_id: str | None = None


def _joined(member_id: str, assignor: Any, topics: tuple[str, ...] = INPUTS) -> _JoinMember:
    """A member as the leader decodes it from the JoinGroup response."""
    wire = assignor.metadata(set(topics)).encode()
    return _JoinMember(member_id, ConsumerProtocolSubscription.decode(wire))


def _partitions(assignment: ConsumerProtocolAssignment) -> set[TopicPartition]:
    decoded = ConsumerProtocolAssignment.decode(assignment.encode())
    return set(decoded.partitions())


def test_the_group_prefers_topic_balanced_and_can_fall_back_to_cooperative_sticky() -> None:
    preferred, fallback = assignors()

    assert (preferred.name, fallback.name) == ("topic-balanced", "cooperative-sticky")
    # kafka-python refuses a consumer whose assignors share no rebalance protocol.
    for assignor in (preferred, fallback):
        assert assignor.supported_protocols() == [RebalanceProtocol.COOPERATIVE]


def test_the_leader_spreads_every_topic_over_two_joined_members() -> None:
    leader = TopicBalancedAssignor()
    members = [_joined("m-1", TopicBalancedAssignor()), _joined("m-2", TopicBalancedAssignor())]

    result = leader.assign(_Cluster(), members)

    assert set(result) == {"m-1", "m-2"}
    for topic in INPUTS:
        per_member = [sum(tp.topic == topic for tp in _partitions(a)) for a in result.values()]
        assert per_member == [2, 2]


def test_a_member_reports_what_its_consumer_owns_and_the_generation_it_got_it_in() -> None:
    preferred, fallback = assignors()
    owned = {TopicPartition("shipments", 1), TopicPartition("catalog", 3)}
    track_assignment((preferred, fallback), lambda: owned)
    preferred.on_assignment(ConsumerProtocolAssignment(1, [("shipments", [1])], b""), 7)

    joined = _joined("m-1", preferred)
    assert joined.metadata.generation_id == 7
    reported = {
        TopicPartition(tp.topic, p)
        for tp in joined.metadata.owned_partitions
        for p in tp.partitions
    }
    assert reported == owned


def test_an_assignment_from_cooperative_sticky_is_reported_after_the_group_switches() -> None:
    """A rolling deploy ends with the group moving from cooperative-sticky to topic-balanced:
    the partitions cooperative-sticky gave must be reported, or the leader would hand them to
    another member while this one still reads them."""
    preferred, fallback = assignors()  # not bound to a consumer: what the assignors were told
    fallback.on_assignment(ConsumerProtocolAssignment(1, [("stock-stowed", [0, 1, 2, 3])], b""), 4)

    old_owner = _joined("m-1", preferred)
    newcomer = _joined("m-2", TopicBalancedAssignor())
    first = TopicBalancedAssignor().assign(_Cluster(), [old_owner, newcomer])

    stock = {tp for tp in _partitions(first["m-1"]) if tp.topic == "stock-stowed"}
    assert len(stock) == 2  # m-1 keeps two and revokes two...
    assert not any(
        tp.topic == "stock-stowed" for tp in _partitions(first["m-2"])
    )  # ...not yet m-2's


def test_cooperative_sticky_reports_what_the_topic_balanced_assignor_gave() -> None:
    preferred, fallback = assignors()
    preferred.on_assignment(ConsumerProtocolAssignment(1, [("catalog", [2])], b""), 9)

    metadata = ConsumerProtocolSubscription.decode(fallback.metadata({"catalog"}).encode())

    assert [(tp.topic, list(tp.partitions)) for tp in metadata.owned_partitions] == [
        ("catalog", [2])
    ]
