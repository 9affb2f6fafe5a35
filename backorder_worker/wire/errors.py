"""What can be wrong with a message on the wire, said so that an operator can fix it.

`InvalidMessage` is the one exception the wire raises: the message can never be processed,
however often it is retried, so the consumer sends it to the dead-letter topic (with
`error_type` and `message` as the `error.type` / `error.message` headers), commits and moves
on. Every other exception out of the wire is a bug. Messages name the failing field by its
path (`data.lines[1].quantity`) and never echo the offending value, which may be huge.
"""

from pydantic import ValidationError

OVERSIZED = "oversized"
MALFORMED_JSON = "malformed-json"
NOT_CLOUDEVENT = "not-cloudevent"
UNKNOWN_TYPE = "unknown-type"
SCHEMA_VIOLATION = "schema-violation"

_MAX_MESSAGE_LENGTH = 1000
_MAX_ERRORS_LISTED = 5


class InvalidMessage(Exception):
    """A message that no retry can fix: dead-letter it, commit, and move on."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(error_type, message)
        self.error_type = error_type
        self.message = message

    def __str__(self) -> str:
        return f"{self.error_type}: {self.message}"


def field_path(prefix: str, location: tuple[int | str, ...]) -> str:
    """`("lines", 1, "quantity")` under `data` reads `data.lines[1].quantity`."""
    path = prefix
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else part
    return path or "(message)"


def describe_validation_error(error: ValidationError, prefix: str) -> str:
    """One line per failing field, at most a few, never the input values themselves."""
    problems = error.errors(include_url=False, include_input=False, include_context=False)
    lines = [
        f"{field_path(prefix, tuple(problem['loc']))}: {_reason(problem['msg'])}"
        for problem in problems[:_MAX_ERRORS_LISTED]
    ]
    if len(problems) > _MAX_ERRORS_LISTED:
        lines.append(f"and {len(problems) - _MAX_ERRORS_LISTED} more")
    return truncate("; ".join(lines))


def truncate(text: str) -> str:
    """Keep a message small enough for a Kafka header and a log line."""
    if len(text) <= _MAX_MESSAGE_LENGTH:
        return text
    return text[: _MAX_MESSAGE_LENGTH - 1] + "…"


def _reason(message: str) -> str:
    return message.removeprefix("Value error, ")
