"""Array parameters of plain strings or plain integers, written in one join.

psycopg's text ``ListDumper`` dumps an array element by element: a dumper call and a
regular-expression search (does it need quotes?) for each. The batch statements take
arrays of hundreds of event ids, SKUs and lock keys (``rows.unnested``,
``rows.text_array``, the lock statements), so the engine gives every connection this
dumper instead (``register``). It writes the same array literal for Postgres to read:

- a list of ``str`` only (no ``None``), none with a double quote, a backslash or a NUL
  in it: every element double-quoted, so Postgres reads each as its text exactly (a quoted
  ``NULL`` or empty string is text, as psycopg's own quoting makes it);
- a list of ``int`` only (not ``bool``, no ``None``): the decimal digits, which need no
  quotes;
- anything else (``None``, other types, nested lists, escapes, another client encoding):
  psycopg's own dumping, unchanged.

The array's type (its oid) is chosen by psycopg as before: only the text is written here.
"""

from __future__ import annotations

from typing import Any

from psycopg import adapt
from psycopg.abc import Buffer
from psycopg.types.array import ListDumper

_STR = {str}
_INT = {int}


class JoinedListDumper(ListDumper):
    """psycopg's text ``ListDumper``, with the two common lists written in one join."""

    def dump(self, obj: list[Any]) -> Buffer | None:
        kinds = set(map(type, obj))
        if kinds == _STR and self._tx.encoding == "utf-8":
            plain = ",".join(obj)
            if '"' not in plain and "\\" not in plain and "\x00" not in plain:
                return ('{"' + '","'.join(obj) + '"}').encode()
        elif kinds == _INT:
            return ("{" + ",".join(map(str, obj)) + "}").encode()
        return super().dump(obj)


def register(context: adapt.AdaptContext) -> None:
    """Lists given to statements on this connection are dumped by ``JoinedListDumper``."""
    context.adapters.register_dumper(list, JoinedListDumper)
