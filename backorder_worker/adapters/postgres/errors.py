"""Which database failures are worth retrying, and their translation into the service
layer's ``TransientError``: the connection, a deadlock, a serialization conflict, a lock
not available. Anything else is a bug or bad data and retrying it would only repeat it.

``translate_transient`` is applied where a transaction ends (``PostgresUnitOfWork``), so a
use case sees a ``TransientError`` whatever statement of its transaction failed, and never
a SQLAlchemy exception it would have to know.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import exc

from backorder_worker.service_layer.errors import TransientError

_UNDEFINED_TABLE = "42P01"

_TRANSIENT_SQLSTATES = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "25P03",  # idle_in_transaction_session_timeout (a paused process woke up)
    "55P03",  # lock_not_available
    "57P01",  # admin_shutdown (a backend killed)
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now
}


def is_transient(error: BaseException) -> bool:
    """A ``TransientError`` (a lost race, a lock held elsewhere included), or a database
    failure that one would be translated from."""
    if isinstance(error, TransientError):
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        sqlstate = getattr(error.orig, "sqlstate", None)
        if sqlstate in _TRANSIENT_SQLSTATES or (sqlstate or "").startswith("08"):
            return True
        return isinstance(error, exc.OperationalError | exc.InterfaceError)
    return isinstance(error, exc.DisconnectionError | exc.TimeoutError | ConnectionError)


@contextmanager
def translate_transient() -> Iterator[None]:
    """Re-raises a transient database failure of the block as ``TransientError`` (the
    original is its ``__cause__`` and its first line its message); anything else as is."""
    try:
        yield
    except TransientError:
        raise
    except Exception as error:
        if not is_transient(error):
            raise
        raise TransientError(f"{type(error).__name__}: {error}") from error


class DatabaseTrouble(StrEnum):
    NO_SCHEMA = "no-schema"  # the worker's tables are not there: migrate first
    UNREACHABLE = "unreachable"  # no connection, or it broke
    REFUSED = "refused"  # the server answered no (a constraint, a permission)


@dataclass(frozen=True, slots=True)
class DatabaseFailure:
    """What went wrong with Postgres, for a person: the kind and the server's own words."""

    trouble: DatabaseTrouble
    reason: str


def database_failure(error: BaseException) -> DatabaseFailure | None:
    """Says what ``error`` means if Postgres (or the way to it) raised it, else None; the
    entry points word it without knowing SQLAlchemy."""
    if isinstance(error, TransientError) and isinstance(error.__cause__, Exception):
        error = error.__cause__
    if not isinstance(error, exc.DBAPIError):
        return None
    cause = error.orig if error.orig is not None else error
    reason = str(cause).strip() or type(cause).__name__  # some drivers' errors say nothing
    if getattr(error.orig, "sqlstate", None) == _UNDEFINED_TABLE:
        return DatabaseFailure(DatabaseTrouble.NO_SCHEMA, reason)
    if isinstance(error, exc.OperationalError):
        return DatabaseFailure(DatabaseTrouble.UNREACHABLE, reason)
    return DatabaseFailure(DatabaseTrouble.REFUSED, reason)
