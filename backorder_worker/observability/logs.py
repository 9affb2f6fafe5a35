"""Structured logs: one JSON object per line, carrying the event being processed.

`configure_logging` installs one handler on the root logger (called once by the entry point;
calling it again replaces that handler). `log_context` binds fields — `event_id`, `topic`,
`partition`, `offset` — to the current context (a `ContextVar`, so threads and tasks keep
their own), and every line logged inside the block carries them, whichever logger wrote it.

Secrets: the JSON formatter writes only JSON-native values, dates, enums and the like as
they are; any other object is written as `<TypeName>`, never its repr, so a settings object
passed in `extra` cannot leak a URL or a password. A message's `%s` arguments are the
caller's responsibility (pydantic masks `SecretStr`, and URLs are `repr=False` in settings).
"""

from __future__ import annotations

import json as jsonlib
import logging
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from types import MappingProxyType
from typing import Final, TextIO
from uuid import UUID

from pydantic import SecretBytes, SecretStr

_EMPTY: Final[Mapping[str, object]] = MappingProxyType({})
_context: Final = ContextVar[Mapping[str, object]]("backorder_log_context", default=_EMPTY)
# Attributes every LogRecord has; anything else on a record came from `extra`.
_RECORD_FIELDS: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)
_HANDLER_NAME: Final = "backorder-worker"


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Adds `fields` to every log line written inside the block (nested blocks merge)."""
    token = _context.set(MappingProxyType({**_context.get(), **fields}))
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> Mapping[str, object]:
    return _context.get()


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", <context>, <extra>, "exc"?}`, one line per record."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in {**current_context(), **_extra_fields(record)}.items():
            line.setdefault(key, value)  # a field never overwrites ts, level, logger or msg
        if record.exc_info:
            line["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return jsonlib.dumps(line, default=_safe_value, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Human-readable lines for a terminal, context and extra fields appended as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = {**current_context(), **_extra_fields(record)}
        if not fields:
            return text
        pairs = " ".join(f"{key}={_safe_value(value)}" for key, value in fields.items())
        head, _, tail = text.partition("\n")  # keep a traceback below the fields
        return f"{head} [{pairs}]" + (f"\n{tail}" if tail else "")


def configure_logging(level: str = "INFO", json: bool = True, stream: TextIO | None = None) -> None:
    """Routes every logger to one handler on `stream` (stderr) at `level`."""
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level: {level}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    # kafka-python's wire loggers write every request at DEBUG, SASL/PLAIN passwords
    # included: they never go below INFO, whatever the worker's level.
    logging.getLogger("kafka").setLevel(max(numeric, logging.INFO))
    # alembic announces each of its plugins at INFO on every `migrate`: noise, not news.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(numeric, logging.WARNING))


def _extra_fields(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS}


def _safe_value(value: object) -> object:
    """A JSON-friendly form of `value` that never exposes an arbitrary object's repr."""
    if isinstance(value, SecretStr | SecretBytes):
        return "**********"
    if isinstance(value, Enum):
        return value.value if isinstance(value.value, str | int) else value.name
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal | PurePath):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_safe_value(item) for item in value]
    return f"<{type(value).__name__}>"
