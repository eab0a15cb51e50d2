"""A recording webhook receiver of the test's own, for what the sandbox sink does not keep:
request headers (the webhook signature) and the exact body bytes. It can also refuse the first
deliveries on each path with a 503 whose body quotes the request it refused (path and headers),
as some proxies do - the harshest case for keeping credentials out of delivery errors.

Receivers that never work (a closed port, a black hole) come from the alerts suite's
`tests.integration.alerts.receivers`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """What was accepted, per path; `refuse_first` deliveries per path are answered 503."""

    url: str
    refuse_first: int = 0
    accepted: list[Delivery] = field(default_factory=list)
    refused: list[Delivery] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, delivery: Delivery) -> bool:
        """Record `delivery`; True when it is accepted."""
        with self._lock:
            refused_here = sum(1 for d in self.refused if d.path == delivery.path)
            if refused_here < self.refuse_first:
                self.refused.append(delivery)
                return False
            self.accepted.append(delivery)
            return True

    def on(self, path: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.accepted if d.path == path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorder: Recorder

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        delivery = Delivery(self.path, dict(self.headers), body)
        if self.recorder.take(delivery):
            self._answer(200, b"")
            return
        quoted = "\n".join(f"{k}: {v}" for k, v in delivery.headers.items())
        self._answer(503, f"refused POST {delivery.path}\n{quoted}".encode())

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        return


@contextmanager
def recording_receiver(refuse_first: int = 0) -> Iterator[Recorder]:
    """A Recorder listening on 127.0.0.1 (a free port) until the block ends."""

    class Handler(_Handler):
        pass  # a class per receiver, so each has its own recorder

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    recorder = Recorder(f"http://127.0.0.1:{server.server_address[1]}", refuse_first)
    Handler.recorder = recorder
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
