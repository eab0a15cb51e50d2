"""The sandbox's alert sink: a webhook receiver that remembers everything POSTed to it.

Owns a loopback HTTP server for Alertmanager webhook payloads (or any JSON a notifier sends):

  POST <any path>     record the body (JSON, or {"raw": text} if not JSON) and answer 200
  GET  /received      {"count": n, "received": [{"path", "received_at", "body"}, ...]}
  DELETE /received    forget everything received
  POST /admin/fail    {"status": 503, "times": 2}: answer the next 2 deliveries with 503 and
                      record them only as rejected (for tests of a notifier's retries)
  GET  /healthz       "ok"

Run it as `python -m controller.sandbox.sink --port 0 --ready-file F`.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from controller.sandbox.promstack.readyfile import serve_until_signalled

MAX_BODY_BYTES = 1024 * 1024
SHUTDOWN_POLL_SECONDS = 0.05  # how soon serve_forever notices a stop request


class AlertSink:
    """The sink's memory; thread-safe, shared by every request handler."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[dict[str, Any]] = []
        self._rejected = 0
        self._fail_status = 503
        self._fail_remaining = 0

    def deliver(self, path: str, raw: bytes) -> int:
        """Record one delivery; return the status to answer with."""
        with self._lock:
            if self._fail_remaining > 0:
                self._fail_remaining -= 1
                self._rejected += 1
                return self._fail_status
            self._received.append({"path": path, "received_at": time.time(), "body": _parse(raw)})
            return 200

    def fail_next(self, status: int, times: int) -> None:
        with self._lock:
            self._fail_status = status
            self._fail_remaining = times

    def received(self) -> dict[str, Any]:
        with self._lock:
            return {
                "count": len(self._received),
                "rejected": self._rejected,
                "received": list(self._received),
            }

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._rejected = 0


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return {"raw": raw.decode("utf-8", errors="replace")}


class SinkServer:
    """An AlertSink behind HTTP on 127.0.0.1:`port` (0: the OS picks)."""

    def __init__(self, port: int = 0) -> None:
        self.sink = AlertSink()
        self._httpd = _SinkHTTPServer(("127.0.0.1", port), _SinkHandler, self.sink)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SinkServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name="sink-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _SinkHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], sink: AlertSink
    ) -> None:
        self.sink = sink
        super().__init__(address, handler)


class _SinkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _SinkHTTPServer

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/received":
            self._json(200, self.server.sink.received())
        elif path == "/healthz":
            self._json(200, {"status": "ok"})
        else:
            self._json(404, {"error": f"no such endpoint: GET {path}; try GET /received"})

    def do_DELETE(self) -> None:
        path = urlsplit(self.path).path
        if path != "/received":
            self._json(404, {"error": f"no such endpoint: DELETE {path}"})
            return
        self.server.sink.clear()
        self._json(200, {"count": 0})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._json(413, {"error": f"body larger than {MAX_BODY_BYTES} bytes"})
            return
        raw = self.rfile.read(length)
        if path == "/admin/fail":
            self._admin_fail(raw)
            return
        status = self.server.sink.deliver(path, raw)
        self._json(status, {"recorded": status == 200})

    def _admin_fail(self, raw: bytes) -> None:
        body = _parse(raw)
        if not isinstance(body, dict):
            body = {"status": None}
        status, times = body.get("status", 503), body.get("times", 1)
        if not (isinstance(status, int) and 400 <= status <= 599 and isinstance(times, int)):
            self._json(400, {"error": 'body: expected {"status": 4xx|5xx, "times": N}'})
            return
        self.server.sink.fail_next(status, times)
        self._json(200, {"status": status, "times": times})

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m controller.sandbox.sink", description="Record webhook deliveries."
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--ready-file", type=Path, help="write the URL here once listening")
    args = parser.parse_args(argv)
    server = SinkServer(args.port).start()
    serve_until_signalled(server, args.ready_file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
