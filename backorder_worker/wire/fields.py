"""The constrained field types shared by every wire model.

This module owns what "a valid id", "a valid quantity" and "a valid time" mean on the wire.
JSON is loose where our domain is not: `true` is not a quantity, `2.5` units do not exist, a
time without a zone cannot be ordered against others, and a quantity of 10^20 would overflow
every sum downstream. Each rule lives here once, so the models and the published JSON
Schemas (which pydantic derives from these annotations) agree.
"""

from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints

MAX_QUANTITY = 1_000_000_000
"""Upper bound of any unit count; far above any real order, far below any overflow."""

MAX_DAYS = 3650
"""Upper bound of a number of days (ten years), so `time + days` stays a valid datetime."""

MAX_ID_LENGTH = 256


def _integer_not_bool(value: Any) -> Any:
    # pydantic's lax int accepts True/False and "5"; JSON producers mean neither as a count.
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    if not isinstance(value, int):
        raise ValueError(f"must be an integer, not {type(value).__name__}")
    return value


def _visible(text: str) -> str:
    if text.isspace():
        raise ValueError("must contain a visible character")
    return text


def _at_least_one(items: tuple[Any, ...]) -> tuple[Any, ...]:
    # Checked after the items (not with min_length), so an invalid item is not also
    # reported as "0 items" by pydantic's tuple validator.
    if not items:
        raise ValueError("must not be empty")
    return items


def _text_not_number(value: Any) -> Any:
    # pydantic's lax date/datetime accepts Unix timestamps; the wire carries ISO 8601 text.
    if isinstance(value, bool | int | float):
        raise ValueError("must be an ISO 8601 string")
    return value


StrictInteger = Annotated[int, BeforeValidator(_integer_not_bool)]
"""An integer, not a boolean, a string or a fraction."""

# Bounds go before the validator so pydantic keeps them on the int (and in the JSON Schema
# as minimum/maximum) instead of wrapping them around an opaque function.
PositiveQuantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY), BeforeValidator(_integer_not_bool)]
"""A number of units that must be at least one."""

Quantity = Annotated[int, Field(ge=0, le=MAX_QUANTITY), BeforeValidator(_integer_not_bool)]
"""A number of units that may be zero."""

SignedRank = Annotated[
    int, Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY), BeforeValidator(_integer_not_bool)
]
"""An ordering number (priority, rank) that may be negative."""

Days = Annotated[int, Field(ge=0, le=MAX_DAYS), BeforeValidator(_integer_not_bool)]
"""A whole number of days."""

Identifier = Annotated[
    str,
    StringConstraints(strict=True, min_length=1, max_length=MAX_ID_LENGTH),
    AfterValidator(_visible),
    Field(json_schema_extra={"pattern": r"\S"}),
]
"""An id, SKU or name: non-empty text with at least one visible character."""

Timestamp = Annotated[AwareDatetime, BeforeValidator(_text_not_number)]
"""An ISO 8601 date-time that carries its time zone."""

CalendarDate = Annotated[date, BeforeValidator(_text_not_number)]
"""An ISO 8601 calendar date."""

ItemT = TypeVar("ItemT")
AtLeastOne = Annotated[
    tuple[ItemT, ...], AfterValidator(_at_least_one), Field(json_schema_extra={"minItems": 1})
]
"""A non-empty JSON array, held as a tuple."""

StrictFlag = Annotated[bool, Field(strict=True)]
"""`true` or `false`, not `"yes"` or `1`."""

__all__ = [
    "MAX_DAYS",
    "MAX_QUANTITY",
    "AtLeastOne",
    "CalendarDate",
    "Days",
    "Identifier",
    "PositiveQuantity",
    "Quantity",
    "SignedRank",
    "StrictFlag",
    "StrictInteger",
    "Timestamp",
]
