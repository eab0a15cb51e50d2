"""The http.server glue: HTTP/1.1 requests in, JSON or chunked watch streams out.

Reads the body (Content-Length or chunked), hands a protocol.Request to the App and writes what
comes back. A watch is written with chunked transfer encoding, one JSON event per line per chunk,
until its timeoutSeconds passes, the client hangs up, or the server stops.
"""

from __future__ import annotations

import json
import select
import socket
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from .admin import REQUESTS_PATH, counter_for, requests_response
from .endpoints import WatchResponse
from .protocol import Request, Response

if TYPE_CHECKING:
    from .app import App


class ApiRequestHandler(BaseHTTPRequestHandler):
    """One connection; keep-alive as HTTP/1.1 clients expect."""

    protocol_version = "HTTP/1.1"
    server_version = "weightgate-sandbox-apiserver"
    # Headers and body go out in separate writes; with Nagle on, each keep-alive answer waits
    # for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - overridden signature
        if getattr(self.server, "log_requests", False):
            super().log_message(format, *args)

    @property
    def app(self) -> App:
        app: App = getattr(self.server, "app")  # noqa: B009 - set by SandboxHTTPServer
        return app

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        body = self._read_body()
        request = Request.build(self.command, self.path, dict(self.headers.items()), body)
        counter = counter_for(self.app)
        result: Response | WatchResponse
        if request.path == REQUESTS_PATH:
            result = requests_response(counter, request)
        else:
            counter.record(request)
            result = self.app.handle(request)
        try:
            if isinstance(result, WatchResponse):
                self._stream(result)
            else:
                self._send(result)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, response: Response) -> None:
        payload = response.encoded()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _client_gone(self) -> bool:
        connection: socket.socket = self.connection
        readable, _, _ = select.select([connection], [], [], 0)
        if not readable:
            return False
        try:
            return connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _stream(self, watch: WatchResponse) -> None:
        opened = getattr(self.server, "stream_open", None)
        if opened is None:
            self._write_stream(watch)
            return
        with opened():
            self._write_stream(watch)

    def _write_stream(self, watch: WatchResponse) -> None:
        self.send_response(200)
        self.send_header("Content-Type", watch.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.flush()
        for event in watch.stream:
            if event is not None:
                self._chunk(json.dumps(event, separators=(",", ":")).encode() + b"\n")
                if event.get("type") == "ERROR":
                    break
            elif self._client_gone():
                self.close_connection = True
                return
            if watch.deadline is not None and time.monotonic() >= watch.deadline:
                break
        self._chunk(b"")
