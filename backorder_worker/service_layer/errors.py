"""The one failure the service layer retries, ``TransientError``, and how a use case is
given its retries (``Retry``).

Adapters translate their technology's passing failures (a dropped connection, a deadlock,
a serialization conflict, a lock held elsewhere) into it, so that the use cases can retry
a transaction without knowing Postgres. Anything else is a bug or bad data: retrying it
would only repeat it. The retry itself (backoff, how long) belongs to the shell, which
hands it to a use case as a ``Retry``; tests hand ``run_once``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

_T = TypeVar("_T")


class TransientError(Exception):
    """The transaction failed for a passing reason and rolled back: run it again."""


class Retry(Protocol):
    def __call__(self, attempt: Callable[[], _T], /) -> _T:
        """Runs ``attempt``, again after a ``TransientError``; raises what it gives up on."""


def run_once(attempt: Callable[[], _T], /) -> _T:
    """No retry: the attempt's failure is the caller's."""
    return attempt()
