"""The sandbox mesh's HTTP face: product page, Istio metrics, admin endpoints, load generator.

Owns the loopback HTTP server and the lifecycle of everything the mesh runs (route source,
server thread, load generator). Endpoints:

  GET  /productpage              bookinfo-like HTML; `?format=json` or `Accept: application/json`
                                 gives {"reviews_version", "status", ...}; `?user=jason` sends
                                 the `end-user` header as bookinfo's login does
  GET  /metrics                  istio_requests_total, istio_request_duration_milliseconds
  GET  /admin/faults             current fault knobs per version
  POST /admin/faults             {"version": "v3", "error_rate": 0.2, "latency_ms": 800} or
                                 {"clear": true} (optionally with "version")
  POST /admin/load               {"rps": N}
  POST /admin/restart            Istio's counters fall to zero, as when the pods restart
  GET  /admin/state              routes, subsets, route-source health, faults, counts, load
  GET  /healthz                  "ok"
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controller.sandbox.mesh.app import Mesh
from controller.sandbox.mesh.loadgen import LoadGenerator
from controller.sandbox.mesh.page import render_product_page
from controller.sandbox.mesh.workloads import FaultSettingsError

MAX_BODY_BYTES = 64 * 1024
SHUTDOWN_POLL_SECONDS = 0.05  # how soon serve_forever notices a stop request


class BadRequestError(ValueError):
    """A request body the admin API rejects; the message says which field and why."""


class MeshServer:
    """Runs a Mesh behind HTTP on 127.0.0.1 with its load generator."""

    def __init__(self, mesh: Mesh, port: int = 0, rps: float = 0.0) -> None:
        self.mesh = mesh
        self._httpd = _MeshHTTPServer(("127.0.0.1", port), _MeshHandler, self)
        self.loadgen = LoadGenerator(f"{self.url}/productpage?format=json", rps)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.mesh.source.start()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name="mesh-http",
            daemon=True,
        )
        self._thread.start()
        self.loadgen.start()

    def stop(self) -> None:
        self.loadgen.stop()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.mesh.source.stop()

    def admin_load(self, body: dict[str, Any]) -> dict[str, Any]:
        rps = body.get("rps")
        if isinstance(rps, bool) or not isinstance(rps, int | float):
            raise BadRequestError(f'rps: must be a number, as in {{"rps": 50}}; got {rps!r}')
        try:
            self.loadgen.set_rate(rps)
        except ValueError as error:
            raise BadRequestError(str(error)) from None
        return self.loadgen.stats()

    def admin_restart(self, body: dict[str, Any]) -> dict[str, Any]:
        """Reset Istio's counters, as a restart of the reviews pods would (the body is ignored)."""
        del body
        return {"series_reset": self.mesh.metrics.reset()}

    def admin_faults(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            self.mesh.faults.apply(body)
        except FaultSettingsError as error:
            raise BadRequestError(str(error)) from None
        return self.mesh.faults.snapshot()


class _MeshHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], app: MeshServer
    ) -> None:
        self.app = app
        super().__init__(address, handler)


class _MeshHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the load generator reuses connections
    server: _MeshHTTPServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        app = self.server.app
        if parts.path == "/productpage":
            self._product_page(dict(parse_qsl(parts.query)))
        elif parts.path == "/metrics":
            self._send(200, generate_latest(app.mesh.registry), CONTENT_TYPE_LATEST)
        elif parts.path == "/admin/faults":
            self._json(200, app.mesh.faults.snapshot())
        elif parts.path == "/admin/state":
            self._json(200, {**app.mesh.state(), "load": app.loadgen.stats()})
        elif parts.path == "/healthz":
            self._send(200, b"ok\n", "text/plain; charset=utf-8")
        else:
            self._json(404, {"error": f"no such endpoint: GET {parts.path}"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        app = self.server.app
        actions = {
            "/admin/faults": app.admin_faults,
            "/admin/load": app.admin_load,
            "/admin/restart": app.admin_restart,
        }
        action = actions.get(path)
        if action is None:
            self._json(404, {"error": f"no such endpoint: POST {path}"})
            return
        try:
            self._json(200, action(self._read_json()))
        except BadRequestError as error:
            self._json(400, {"error": str(error)})

    def _product_page(self, query: dict[str, str]) -> None:
        result = self.server.app.mesh.product_page(dict(self.headers.items()), query)
        wants_json = query.get("format") == "json" or "application/json" in self.headers.get(
            "Accept", ""
        )
        # Like bookinfo, productpage itself answers 200 and shows the reviews failure.
        if wants_json:
            self._json(200, result.as_json())
        else:
            self._send(200, render_product_page(result).encode(), "text/html; charset=utf-8")

    def _read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise BadRequestError(f"body: larger than {MAX_BODY_BYTES} bytes")
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw)
        except ValueError:
            raise BadRequestError("body: not valid JSON") from None
        if not isinstance(body, dict):
            raise BadRequestError("body: must be a JSON object")
        return body

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        return  # at 100 rps an access log would drown every other line
