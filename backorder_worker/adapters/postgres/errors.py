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

from sqlalchemy import exc

from backorder_worker.service_layer.errors import TransientError

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
