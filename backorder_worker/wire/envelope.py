"""CloudEvents 1.0 on Kafka: from a record's bytes to a validated event, and back.

This module owns the envelope (SPEC §3, "Envelope"). `decode_event` accepts structured mode
(the value is the whole event as JSON) and binary mode (`ce_*` headers carry the attributes,
the value is the JSON `data`), dispatches on `type` through a registry of data models, and
raises `InvalidMessage` for anything it cannot accept — never another exception, whatever
the bytes. `encode_event` writes structured mode, the only mode the worker publishes.

The mode is chosen as the CloudEvents Kafka protocol binding says (§3): a `content-type`
header starting with `application/cloudevents` means structured mode, and then `ce_*`
headers are ignored (§3.3.3 lets a sender add them); any other `content-type`, or none,
means binary mode. One leniency: a record with no `ce_*` header at all is read in structured
mode whatever its `content-type` says (or that it has none), since producers that write
whole events often set no header or `application/json`.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from backorder_worker.wire.errors import (
    MALFORMED_JSON,
    NOT_CLOUDEVENT,
    OVERSIZED,
    SCHEMA_VIOLATION,
    UNKNOWN_TYPE,
    InvalidMessage,
    describe_validation_error,
)
from backorder_worker.wire.fields import Identifier, Timestamp
from backorder_worker.wire.inputs import INPUT_DATA_MODELS, InputEventData
from backorder_worker.wire.outputs import OUTPUT_DATA_MODELS, OutputEventData

JSON_CONTENT_TYPE: Final = "application/json"
CLOUDEVENTS_MEDIA: Final = "application/cloudevents"
"""A `content-type` starting so marks a structured-mode record (Kafka protocol binding §3)."""
STRUCTURED_CONTENT_TYPE: Final = "application/cloudevents+json"
DEFAULT_MAX_BYTES: Final = 1_048_576

DATA_MODELS: Final[Mapping[str, type[BaseModel]]] = MappingProxyType(
    {**INPUT_DATA_MODELS, **OUTPUT_DATA_MODELS}
)
"""Every event type this service knows, in or out → the model of its `data`."""

DataT = TypeVar("DataT", bound=BaseModel)
Headers = Sequence[tuple[str, bytes | None]]


class CloudEvent(BaseModel):
    """The CloudEvents 1.0 attributes we use; extension attributes are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    specversion: Literal["1.0"]
    id: Identifier
    source: Identifier
    type: Identifier
    time: Timestamp
    datacontenttype: str | None = None
    data: Any = None


@dataclass(frozen=True, slots=True)
class DecodedEvent(Generic[DataT]):
    """An accepted event: its `id` is the idempotency key, its `time` orders the backlog."""

    id: str
    type: str
    source: str
    time: datetime
    data: DataT


def decode_event(
    value: bytes | None, headers: Headers | None, max_bytes: int = DEFAULT_MAX_BYTES
) -> DecodedEvent[InputEventData]:
    """Validate one consumed record as an input event, or raise `InvalidMessage`."""
    return _decode(value, headers, max_bytes, INPUT_DATA_MODELS)


def decode_output_event(
    value: bytes | None, headers: Headers | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> DecodedEvent[OutputEventData]:
    """Validate one published record as an output event (for subscribers and tests)."""
    return _decode(value, headers, max_bytes, OUTPUT_DATA_MODELS)


def encode_event(type: str, source: str, id: str, time: datetime, data_model: BaseModel) -> bytes:
    """One event in structured mode, compact JSON; `time` must carry its time zone."""
    expected = DATA_MODELS.get(type)
    if expected is None or not isinstance(data_model, expected):
        raise ValueError(f"{type!r} does not take data of type {data_model.__class__.__name__}")
    event = CloudEvent(
        specversion="1.0",
        id=id,
        source=source,
        type=type,
        time=time,
        datacontenttype=JSON_CONTENT_TYPE,
        data=data_model.model_dump(mode="json"),
    )
    return event.model_dump_json().encode("utf-8")


def _decode(
    value: bytes | None,
    headers: Headers | None,
    max_bytes: int,
    models: Mapping[str, type[DataT]],
) -> DecodedEvent[DataT]:
    if value is not None and len(value) > max_bytes:
        raise InvalidMessage(OVERSIZED, f"message is {len(value)} bytes; the limit is {max_bytes}")
    binary = _binary_mode_attributes(headers or ())
    body = _parse_json(value)
    if binary is None:  # structured mode
        if not isinstance(body, dict):
            got = type(body).__name__
            raise InvalidMessage(
                NOT_CLOUDEVENT, f"expected a JSON object (a CloudEvent), got {got}"
            )
        if "data_base64" in body:
            raise InvalidMessage(NOT_CLOUDEVENT, "data_base64 is not supported; send JSON data")
        event = _validate_envelope(body, where="")
    else:
        event = _validate_envelope({**binary, "data": body}, where="ce_* headers: ")
    model = models.get(event.type)
    if model is None:
        known = ", ".join(sorted(models))
        raise InvalidMessage(UNKNOWN_TYPE, f"unknown event type {event.type!r}; known: {known}")
    return DecodedEvent(event.id, event.type, event.source, event.time, _data(event, model))


def _binary_mode_attributes(headers: Headers) -> dict[str, str] | None:
    """The CloudEvents attributes from the headers in binary mode; None in structured mode
    (see the module docstring for how the mode is chosen). The first of repeated headers
    counts; `content-type` is the `datacontenttype`."""
    found: dict[str, str] = {}
    for key, raw in headers:
        name = key.lower()
        attribute = "datacontenttype" if name == "content-type" else name.removeprefix("ce_")
        if attribute == name or raw is None or attribute in found:
            continue
        try:
            found[attribute] = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidMessage(NOT_CLOUDEVENT, f"header {key!r} is not UTF-8 text") from None
    content_type = found.get("datacontenttype")
    if content_type is not None and content_type.strip().lower().startswith(CLOUDEVENTS_MEDIA):
        _require_json_event_format(content_type)
        return None
    return found if found.keys() - {"datacontenttype"} else None


def _require_json_event_format(content_type: str) -> None:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != STRUCTURED_CONTENT_TYPE:
        raise InvalidMessage(
            NOT_CLOUDEVENT,
            f"content-type {content_type!r}: the only event format read is JSON "
            f"({STRUCTURED_CONTENT_TYPE}), one event per record",
        )


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


# One decoder for every record: ``json.loads`` with a hook builds a new one per call. For
# bytes it does what ``json.loads`` does: the encoding detected, then this decoder.
_JSON: Final = json.JSONDecoder(parse_constant=_reject_constant)


def _parse_json(value: bytes | None) -> object:
    if not value:
        raise InvalidMessage(MALFORMED_JSON, "message value is empty; expected JSON")
    try:
        if isinstance(value, bytes | bytearray):
            return _JSON.decode(value.decode(json.detect_encoding(value), "surrogatepass"))
        return json.loads(value, parse_constant=_reject_constant)
    except RecursionError:
        raise InvalidMessage(MALFORMED_JSON, "JSON is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, over-long integers
        raise InvalidMessage(MALFORMED_JSON, f"not valid JSON: {error}") from None


def _validate_envelope(attributes: dict[str, Any], where: str) -> CloudEvent:
    try:
        event = CloudEvent.model_validate(attributes)
    except ValidationError as error:
        problem = describe_validation_error(error, prefix="")
        raise InvalidMessage(NOT_CLOUDEVENT, f"{where}{problem}") from None
    if not _is_json_media_type(event.datacontenttype):
        raise InvalidMessage(
            NOT_CLOUDEVENT, f"datacontenttype {event.datacontenttype!r} is not JSON"
        )
    return event


def _is_json_media_type(content_type: str | None) -> bool:
    if content_type is None:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in (JSON_CONTENT_TYPE, "text/json") or media_type.endswith("+json")


def _data(event: CloudEvent, model: type[DataT]) -> DataT:
    if not isinstance(event.data, dict):
        got = "nothing" if event.data is None else type(event.data).__name__
        raise InvalidMessage(
            SCHEMA_VIOLATION, f"{event.type}: data must be a JSON object, got {got}"
        )
    try:
        return model.model_validate(event.data)
    except ValidationError as error:
        problem = describe_validation_error(error, prefix="data")
        raise InvalidMessage(SCHEMA_VIOLATION, f"{event.type}: {problem}") from None
