"""Which database failures are worth retrying: the connection, a deadlock, a
serialization conflict, a lost race for a shipment. Anything else is a bug or bad data
and retrying it would only repeat it."""

from __future__ import annotations

from sqlalchemy import exc

from backorder_worker.service_layer.locking import LockContended
from backorder_worker.service_layer.ports import ConcurrentRelease

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
    if isinstance(error, ConcurrentRelease | LockContended):
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        sqlstate = getattr(error.orig, "sqlstate", None)
        if sqlstate in _TRANSIENT_SQLSTATES or (sqlstate or "").startswith("08"):
            return True
        return isinstance(error, exc.OperationalError | exc.InterfaceError)
    return isinstance(error, exc.DisconnectionError | exc.TimeoutError | ConnectionError)
