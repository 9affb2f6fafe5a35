"""The pause points: a unit of work whose stores stop before every port call and commit.

``PausingUnitOfWork`` wraps a real unit of work (``PostgresUnitOfWork``, or the cached
composition of ``bootstrap``) without touching production code: the store it yields is a
proxy whose every method call first waits for the scheduler's permission, and the block
waits once more after it ends, before the real commit. Between two permissions the batch
runs the real code on its own connection, so what a schedule explores is exactly what two
replicas could do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

Pause = Callable[[str], None]  # blocks until the scheduler lets the caller go on
Points = Callable[[str, tuple[Any, ...], set[str]], bool]  # (method, args, SKUs locked)


def every_call(name: str, args: tuple[Any, ...], locked: set[str]) -> bool:
    return True


def only(*names: str) -> Points:
    """Pause before these methods only, and before ``lock_skus`` only when it locks a SKU
    the transaction does not hold yet: fewer, meaningful steps for exhaustive enumeration."""

    def chosen(name: str, args: tuple[Any, ...], locked: set[str]) -> bool:
        if name == "lock_skus":
            return "lock_skus" in names and bool(set(args[0]) - locked)
        return name in names

    return chosen


class PausingStore:
    """Any ``Store``; a method call waits at ``pause`` first when ``points`` says so
    (``__getattr__`` proxy)."""

    def __init__(self, store: Any, pause: Pause, points: Points = every_call) -> None:
        self._store, self._pause, self._points = store, pause, points
        self._locked: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store, name)
        if not callable(target):
            return target

        def paused(*args: Any, **kwargs: Any) -> Any:
            if name == "lock_skus":
                args = (set(args[0]),)  # a generator would be used up by the brief
            if self._points(name, args, self._locked):
                self._pause(f"{name}({_brief(args)})")
            if name == "lock_skus":
                self._locked |= args[0]
            return target(*args, **kwargs)

        return paused


class PausingUnitOfWork:
    """``uow`` whose stores pause (``PausingStore``) and which pauses before committing.

    ``on_attempt`` hears each new transaction (a retry after a transient error is one) and
    ``on_error`` every exception that leaves a block, before it rolls back."""

    def __init__(
        self,
        uow: Callable[[], AbstractContextManager[Any]],
        pause: Pause,
        on_attempt: Callable[[], None],
        on_error: Callable[[BaseException], None],
        points: Points = every_call,
    ) -> None:
        self._uow, self._pause, self._points = uow, pause, points
        self._on_attempt, self._on_error = on_attempt, on_error

    @contextmanager
    def __call__(self) -> Iterator[PausingStore]:
        self._on_attempt()
        try:
            with self._uow() as store:
                yield PausingStore(store, self._pause, self._points)
                self._pause("commit")
        except BaseException as error:
            self._on_error(error)
            raise


def _brief(args: tuple[Any, ...]) -> str:
    """Arguments as the trace shows them: sets sorted, long values cut."""
    shown = []
    for arg in args:
        if isinstance(arg, set | frozenset):
            arg = sorted(arg)
        text = repr(arg)
        shown.append(text if len(text) <= 60 else text[:57] + "...")
    return ", ".join(shown)
