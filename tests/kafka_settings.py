"""Consumer settings that make Tansu group joins fast enough for tests.

Tansu holds a join until half the session timeout has passed (45 s by default, so a 23 s join).
With these settings a join takes ~1.1 s and a dead member's partitions move in ~3.4 s
(DEVSTACK.md). Tests only: production keeps the library defaults. Use as
`KafkaConsumer(..., **FAST_GROUP_SETTINGS)`.
"""

from collections.abc import Mapping
from types import MappingProxyType

FAST_GROUP_SETTINGS: Mapping[str, int] = MappingProxyType(
    {"session_timeout_ms": 2000, "heartbeat_interval_ms": 500}
)
