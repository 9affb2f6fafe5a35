"""A loopback TCP proxy whose connections can be cut, to make a broker unreachable on cue.

A broker started with `advertised_port=proxy.port` sends every client through the proxy
(metadata names it), so `cut()` fails every request in flight and refuses new connections,
as a network partition would, while the broker itself keeps its groups and offsets; `heal()`
lets clients reconnect. Nothing sent during a cut reaches the broker.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Self


class CutProxy:
    def __init__(self, target_port: int, port: int, host: str = "127.0.0.1") -> None:
        self.host, self.port, self._target = host, port, (host, target_port)
        self._listener = socket.create_server((host, port))
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._cut = False
        self._closed = False
        threading.Thread(target=self._accept, name="cut-proxy", daemon=True).start()

    def cut(self) -> None:
        """Drops every open connection; new ones are closed at once until `heal()`."""
        with self._lock:
            self._cut = True
            live, self._live = self._live, set()
        for sock in live:
            _close(sock)

    def heal(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        _close(self._listener)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refused = self._cut
            if refused:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=2)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                refused = self._cut  # a cut while connecting: this one is cut too
                if not refused:
                    self._live |= {client, upstream}
            if refused:
                _close(client)
                _close(upstream)
                continue
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
