"""ApiServer: the sandbox Kubernetes API server as a Python object (start, url, stop).

Binds a ThreadingHTTPServer (one thread per connection, HTTP/1.1 keep-alive), wires registry,
store, faults and the optional state file together, seeds the ``default`` and ``kube-system``
namespaces, and on stop ends open watches and closes every connection so the port is free.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .app import App
from .builtins import builtin_types
from .crds import resource_type_of
from .faults import FaultInjector, FaultRule
from .handler import ApiRequestHandler
from .registry import Registry
from .resources import Resources
from .state import StateFile
from .store import Store
from .writes import Target, WriteOptions

SEED_NAMESPACES = ("default", "kube-system")


class SandboxHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that remembers its connections so stop() can close them."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App, log_requests: bool) -> None:
        self.app = app
        self.log_requests = log_requests
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._streams_open = 0
        self._streams_changed = threading.Condition()
        super().__init__(address, ApiRequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    @contextlib.contextmanager
    def stream_open(self) -> Iterator[None]:
        """Count a watch stream while it is written, so stop() can let it end cleanly."""
        with self._streams_changed:
            self._streams_open += 1
        try:
            yield
        finally:
            with self._streams_changed:
                self._streams_open -= 1
                self._streams_changed.notify_all()

    def wait_for_streams(self, timeout: float) -> None:
        with self._streams_changed:
            self._streams_changed.wait_for(lambda: self._streams_open == 0, timeout)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class ApiServer:
    """A sandbox API server; use ``start()``/``stop()`` or a ``with`` block."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        state_file: Path | str | None = None,
        history_limit: int = 1000,
        log_requests: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.registry = Registry(builtin_types())
        self.store = Store(history_limit)
        self.resources = Resources(self.store, self.registry)
        self.faults = FaultInjector()
        self.state = StateFile(Path(state_file)) if state_file else None
        self._stop = threading.Event()
        self._log_requests = log_requests
        self._http: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._http is None:
            raise RuntimeError("the API server is not started: call start() first")
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ApiServer:
        self._load_state()
        self._seed()
        if self.state is not None:
            state = self.state
            self.store.on_change = lambda: state.save(self.store.snapshot())
            state.save(self.store.snapshot())
        app = App(self.resources, self.faults, self._stop)
        self._http = SandboxHTTPServer((self.host, self.port), app, self._log_requests)
        host, port = self._http.server_address[:2]
        app.server_address = f"{host!s}:{port}"
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.2},
            daemon=True,
            name="sandbox-apiserver",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """End watches, stop accepting, close connections; safe to call twice."""
        self._stop.set()
        with self.store.changed:
            self.store.changed.notify_all()
        if self._http is None:
            return
        self._http.shutdown()
        # Open watches see the stop flag at once and end with their final chunk.
        self._http.wait_for_streams(timeout=2)
        self._http.close_connections()
        self._http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._http = None

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def add_fault(self, **fields: Any) -> FaultRule:
        """Inject a fault, e.g. ``add_fault(verb="patch", resource="foos", status=503)``."""
        return self.faults.add(FaultRule(**fields))

    def clear_faults(self) -> None:
        self.faults.clear()

    def _load_state(self) -> None:
        snapshot = self.state.load() if self.state is not None else None
        if snapshot is None:
            return
        self.store.restore(snapshot)
        for crd in self.store.objects("apiextensions.k8s.io", "customresourcedefinitions"):
            self.registry.register_crd(crd["metadata"]["name"], resource_type_of(crd))

    def _seed(self) -> None:
        namespaces = self.registry.get("", "namespaces")
        if namespaces is None:
            return
        for name in SEED_NAMESPACES:
            if self.store.get("", "namespaces", "", name) is None:
                body = {"metadata": {"name": name}}
                self.resources.create(Target(namespaces, "v1"), body, WriteOptions())
