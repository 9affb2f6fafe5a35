"""The worker's HTTP face: `/metrics`, `/healthz` (liveness) and `/readyz` (readiness).

A stdlib `ThreadingHTTPServer` on a daemon thread, so a slow scrape never blocks the consumer
loop and the process never waits for it at exit. Liveness answers "restart me?" (the loop is
stuck), readiness "send me work?" (dependencies and partitions); both are callables owned by
the worker, called on every probe, and must be cheap; each answers a flag, or a flag and the
reason the body gives when it is False. A probe callable that raises answers
503 with the exception's type only — its message may carry a URL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST

from backorder_worker.observability.metrics import Metrics

log = logging.getLogger(__name__)
_TEXT: Final = "text/plain; charset=utf-8"


class HealthServer:
    """Serves the probes and metrics on `host:port`; `port` 0 binds a free port, read `port`
    after `start()`."""

    def __init__(
        self,
        metrics: Metrics,
        is_live: Callable[[], bool | tuple[bool, str]],
        is_ready: Callable[[], tuple[bool, str]],
        host: str = "0.0.0.0",
        port: int = 8000,
    ) -> None:
        self._metrics = metrics
        self._is_live = is_live
        self._is_ready = is_ready
        self.host = host
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._server is not None:
            return
        server = ThreadingHTTPServer((self.host, self.port), self._handler_class())
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},  # how long stop() may wait
            name="health-server",
            daemon=True,
        )
        self._thread.start()
        log.info("health server listening", extra={"host": self.host, "port": self.port})

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def respond(self, path: str) -> tuple[int, str, bytes]:
        """Status, content type and body for a GET of `path`."""
        route = path.split("?", 1)[0]
        if route == "/metrics":
            return 200, CONTENT_TYPE_LATEST, self._metrics.render()
        if route == "/healthz":
            live, reason = _probe(self._liveness)
            return (200, _TEXT, b"ok\n") if live else (503, _TEXT, f"{reason}\n".encode())
        if route == "/readyz":
            ready, reason = _probe(self._is_ready)
            return (200, _TEXT, b"ready\n") if ready else (503, _TEXT, f"{reason}\n".encode())
        return 404, _TEXT, b"not found\n"

    def _liveness(self) -> tuple[bool, str]:
        answer = self._is_live()
        return answer if isinstance(answer, tuple) else (answer, "not live")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        respond = self.respond

        class Handler(BaseHTTPRequestHandler):
            timeout = 5  # a client that connects and says nothing does not pin a thread

            def do_GET(self) -> None:
                status, content_type, body = respond(self.path)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("http %s", format % args)

        return Handler


def _probe(check: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
    try:
        return check()
    except Exception as exc:
        log.warning("health probe failed", exc_info=True)
        return False, f"probe failed: {type(exc).__name__}"
