"""Array parameters written in one join, not element by element.

psycopg's text ``ListDumper`` dumps an array element by element: a dumper call and a
regular-expression search (does it need quotes?) for each, and a substitution for each
that does. The batch statements take arrays of hundreds of event ids, SKUs, lock keys,
flags and times (``rows.unnested``, ``rows.text_array``, the lock statements), so the
engine gives every connection this dumper instead (``register``). For a flat list of one
kind of element, ``None`` allowed, it writes an array literal Postgres reads as the same
values as psycopg's:

- ``None`` is a bare ``NULL`` (the only null; a quoted ``"NULL"`` is text);
- ``str``: double-quoted, its backslashes and double quotes escaped (backslash first), so
  Postgres reads it exactly (a string with a NUL is left to psycopg, which refuses it);
- ``int`` (not ``bool``): its decimal digits; ``bool``: ``t`` or ``f``, as psycopg writes
  them;
- ``datetime``: ``str(value)`` double-quoted, the text psycopg's own dumper writes.

Anything else (several kinds, nested lists, other types, a client encoding other than
UTF-8) is psycopg's own dumping, unchanged. The array's type (its oid) is chosen by
psycopg as before: only the text is written here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from psycopg.abc import AdaptContext, Buffer
from psycopg.types.array import ListDumper

_NONE = type(None)


def _text(value: str) -> str:
    if "\\" in value or '"' in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{value}"'


_ELEMENT: dict[type, Callable[[Any], str]] = {
    str: _text,
    int: str,
    bool: lambda value: "t" if value else "f",
    datetime: lambda value: f'"{value}"',
}


class JoinedListDumper(ListDumper):
    """psycopg's text ``ListDumper``, writing a flat list of one kind in one join."""

    def dump(self, obj: list[Any]) -> Buffer | None:
        kinds = set(map(type, obj))
        has_null = _NONE in kinds
        kinds.discard(_NONE)
        if len(kinds) > 1 or self._tx.encoding != "utf-8":
            return super().dump(obj)
        if not kinds:  # empty, or nulls only
            return ("{" + ",".join(["NULL"] * len(obj)) + "}").encode()
        kind = kinds.pop()
        element = _ELEMENT.get(kind)
        if element is None:
            return super().dump(obj)
        if kind is str:
            plain = ",".join([s for s in obj if s is not None] if has_null else obj)
            if "\x00" in plain:
                return super().dump(obj)  # psycopg refuses it, and says why
            if not has_null and '"' not in plain and "\\" not in plain:
                return ('{"' + '","'.join(obj) + '"}').encode()
        if has_null:
            text = ",".join(["NULL" if x is None else element(x) for x in obj])
        else:
            text = ",".join(map(element, obj))
        return ("{" + text + "}").encode()


def register(context: AdaptContext) -> None:
    """Lists given to statements on this connection are dumped by ``JoinedListDumper``."""
    context.adapters.register_dumper(list, JoinedListDumper)
