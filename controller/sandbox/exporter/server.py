"""The exporter's HTTP face on 127.0.0.1: ``GET /metrics`` (the scrape) and ``GET /healthz``.

Owns the loopback server thread and the clock: counters start at zero when the server starts,
as a freshly started sidecar's do.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from controller.sandbox.exporter.render import CONTENT_TYPE, ScrapeRenderer

SHUTDOWN_POLL_SECONDS = 0.1


class ExporterServer:
    """Serves `renderer`'s scrape; ``start()``, ``url``, ``stop()``."""

    def __init__(self, renderer: ScrapeRenderer, port: int = 0) -> None:
        self.renderer = renderer
        self.started_at = time.time()
        self._httpd = _ExporterHTTPServer(("127.0.0.1", port), _Handler, self)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def scrape(self) -> bytes:
        return self.renderer.render(time.time() - self.started_at)

    def start(self) -> None:
        self.started_at = time.time()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            daemon=True,
            name="scale-exporter",
        )
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _ExporterHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: Any, exporter: ExporterServer) -> None:
        self.exporter = exporter
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "weightgate-scale-exporter"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        exporter: ExporterServer = getattr(self.server, "exporter")  # noqa: B009 - set above
        if path == "/metrics":
            self._send(200, exporter.scrape(), CONTENT_TYPE)
        elif path == "/healthz":
            self._send(200, b"ok\n", "text/plain")
        else:
            self._send(404, b"not found: try /metrics or /healthz\n", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - overridden signature
        del format, args  # a scrape every few seconds is not news
