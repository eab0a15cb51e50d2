"""A fake of the one Kubernetes API contract the mesh's route source relies on.

Serves `GET /apis/networking.istio.io/v1/namespaces/<ns>/{virtualservices,destinationrules}/<name>`
from a dict the test controls (404 when absent, 503 while "down"). This is our own seam: the
real API stand-in is tested elsewhere.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/apis/networking.istio.io/v1/namespaces/"


class FakeIstioApi:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.down = False
        self.requests = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.requests += 1
                status, body = api.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def put(self, namespace: str, plural: str, obj: dict[str, Any]) -> None:
        self.objects[(namespace, plural, obj["metadata"]["name"])] = obj

    def delete(self, namespace: str, plural: str, name: str) -> None:
        self.objects.pop((namespace, plural, name), None)

    def answer(self, path: str) -> tuple[int, dict[str, Any]]:
        if self.down:
            return 503, {"kind": "Status", "code": 503, "message": "fake API is down"}
        parts = path.split("?", 1)[0].removeprefix(PREFIX).split("/")
        obj = self.objects.get((parts[0], parts[1], parts[2])) if len(parts) == 3 else None
        if obj is None:
            return 404, {"kind": "Status", "code": 404, "reason": "NotFound"}
        return 200, obj

    def start(self) -> FakeIstioApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port; safe to call twice."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()
