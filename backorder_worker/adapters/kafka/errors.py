"""What a Kafka failure means, for the command line: no broker answered, a record the
broker would not take, or another broker error, so that the entry points word it without
knowing kafka-python's exceptions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kafka.errors import KafkaError, KafkaTimeoutError

from backorder_worker.adapters.kafka.producer import PublishError


class BrokerTrouble(StrEnum):
    UNREACHABLE = "unreachable"  # no broker answered the bootstrap
    NOT_PUBLISHED = "not-published"  # a record was refused or not acknowledged
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class BrokerFailure:
    trouble: BrokerTrouble
    reason: str  # "<ErrorType>: <message>"


def broker_failure(error: BaseException) -> BrokerFailure | None:
    """Says what ``error`` means if the broker (or the way to it) raised it, else None."""
    if isinstance(error, PublishError):
        return BrokerFailure(BrokerTrouble.NOT_PUBLISHED, str(error))
    if not isinstance(error, KafkaError):
        return None
    reason = f"{type(error).__name__}: {error}"
    # kafka-python 3 says "Unable to bootstrap from …" when no broker answers in time.
    if isinstance(error, KafkaTimeoutError) and "bootstrap" in str(error).lower():
        return BrokerFailure(BrokerTrouble.UNREACHABLE, reason)
    return BrokerFailure(BrokerTrouble.OTHER, reason)
