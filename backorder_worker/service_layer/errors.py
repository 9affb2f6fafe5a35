"""The one failure the service layer retries: ``TransientError``.

Adapters translate their technology's passing failures (a dropped connection, a deadlock,
a serialization conflict, a lock held elsewhere) into it, so that the use cases can retry
a transaction without knowing Postgres. Anything else is a bug or bad data: retrying it
would only repeat it.
"""

from __future__ import annotations


class TransientError(Exception):
    """The transaction failed for a passing reason and rolled back: run it again."""
