"""The wire: CloudEvents envelopes and the `data` of every event, in and out (SPEC §3).

pydantic lives here and in `settings` only. Entry points decode a record with
`decode_event`, turn its data model into a command, and encode outputs with `encode_event`.
"""

from backorder_worker.wire.envelope import (
    DecodedEvent,
    decode_event,
    decode_output_event,
    encode_event,
)
from backorder_worker.wire.errors import InvalidMessage

__all__ = [
    "DecodedEvent",
    "InvalidMessage",
    "decode_event",
    "decode_output_event",
    "encode_event",
]
