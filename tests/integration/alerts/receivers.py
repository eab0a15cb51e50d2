"""Receivers for the delivery tests: one that records raw bytes and headers, one that never
answers (a listening socket nobody accepts on), and a port nobody listens on."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class RawDelivery:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class RawRecorder:
    """Everything POSTed, byte for byte (the sandbox sink keeps parsed JSON, not headers)."""

    url: str
    deliveries: list[RawDelivery] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorder: RawRecorder

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.recorder.deliveries.append(RawDelivery(self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


@contextmanager
def raw_recorder() -> Iterator[RawRecorder]:
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    recorder = RawRecorder(f"http://127.0.0.1:{server.server_address[1]}")
    handler.recorder = recorder
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def black_hole() -> Iterator[int]:
    """A port whose connections complete (kernel backlog) but are never read or answered."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


def closed_port() -> int:
    """A loopback port with no listener (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
