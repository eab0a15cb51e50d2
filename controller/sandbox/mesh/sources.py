"""Where the mesh's router gets the `reviews` VirtualService and DestinationRule from.

Owns the RouteSource seam: a fixed source for tests, and a polling source (every 200 ms by
default) fed either by the Kubernetes API (stand-in or real) or by YAML files. A polling source
keeps the last routes it could read while its origin is down or serves something unparsable,
and says so in `status()`; until its first good read the mesh routes as a plain Service would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import requests
import yaml

from controller.sandbox.mesh.virtualservice import (
    RoutingTable,
    VirtualServiceError,
    build_routing_table,
)

IstioObject = Mapping[str, Any]
FetchResult = tuple[IstioObject | None, IstioObject | None]
DEFAULT_POLL_SECONDS = 0.2


class SourceUnavailableError(RuntimeError):
    """The origin of the routes could not be read this time; the last routes stay."""


class RouteSource(Protocol):
    """What the mesh needs from a source of routes."""

    def routing_table(self) -> RoutingTable: ...

    def status(self) -> dict[str, Any]: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class StaticRouteSource:
    """Fixed objects handed in by a test (or replaced by it with `set`)."""

    def __init__(
        self,
        virtual_service: IstioObject | None,
        destination_rule: IstioObject | None,
        namespace: str = "bookinfo",
    ) -> None:
        self._namespace = namespace
        self._table = build_routing_table(virtual_service, destination_rule, namespace)

    def set(
        self, virtual_service: IstioObject | None, destination_rule: IstioObject | None
    ) -> None:
        self._table = build_routing_table(virtual_service, destination_rule, self._namespace)

    def routing_table(self) -> RoutingTable:
        return self._table

    def status(self) -> dict[str, Any]:
        return {"source": "static", "synced": True}

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None


class PollingRouteSource:
    """Calls `fetch` every `interval` seconds on a thread and keeps the last good table."""

    def __init__(
        self,
        fetch: Callable[[], FetchResult],
        namespace: str,
        description: str,
        interval: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        self._fetch = fetch
        self._namespace = namespace
        self._description = description
        self._interval = interval
        self._table = build_routing_table(None, None, namespace)
        self._synced = False
        self._last_error: str | None = None
        self._last_success: float | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def routing_table(self) -> RoutingTable:
        return self._table

    def status(self) -> dict[str, Any]:
        return {
            "source": self._description,
            "synced": self._synced,
            "last_error": self._last_error,
            "seconds_since_success": (
                None if self._last_success is None else time.monotonic() - self._last_success
            ),
        }

    def poll_once(self) -> None:
        """One read; on failure the previous table stays and the error is recorded."""
        try:
            virtual_service, destination_rule = self._fetch()
            table = build_routing_table(virtual_service, destination_rule, self._namespace)
        except (SourceUnavailableError, VirtualServiceError) as error:
            self._last_error = str(error)
            return
        self._table = table
        self._synced = True
        self._last_error = None
        self._last_success = time.monotonic()

    def start(self) -> None:
        self.poll_once()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="route-source", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            self.poll_once()


def api_route_source(
    api_url: str,
    namespace: str,
    name: str = "reviews",
    interval: float = DEFAULT_POLL_SECONDS,
    api_version: str = "networking.istio.io/v1",
) -> PollingRouteSource:
    """Poll the VirtualService and DestinationRule `name` from a Kubernetes API server."""
    session = requests.Session()
    base = f"{api_url.rstrip('/')}/apis/{api_version}/namespaces/{namespace}"

    def fetch() -> FetchResult:
        return (
            _get_object(session, f"{base}/virtualservices/{name}"),
            _get_object(session, f"{base}/destinationrules/{name}"),
        )

    return PollingRouteSource(fetch, namespace, f"api {api_url}", interval)


def _get_object(session: requests.Session, url: str) -> IstioObject | None:
    try:
        response = session.get(url, timeout=2)
    except requests.RequestException as error:
        raise SourceUnavailableError(f"GET {url}: {error}") from None
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise SourceUnavailableError(f"GET {url}: HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise SourceUnavailableError(f"GET {url}: the answer is not JSON") from None
    if not isinstance(body, Mapping):
        raise SourceUnavailableError(f"GET {url}: the answer is not a JSON object")
    return body


def file_route_source(
    vs_file: Path,
    dr_file: Path | None,
    namespace: str,
    name: str = "reviews",
    interval: float = DEFAULT_POLL_SECONDS,
) -> PollingRouteSource:
    """Re-read YAML files (any number of documents each) for the objects called `name`."""

    def fetch() -> FetchResult:
        documents = _load_documents(vs_file)
        if dr_file is not None:
            documents += _load_documents(dr_file)
        return (
            _find(documents, "VirtualService", name),
            _find(documents, "DestinationRule", name),
        )

    return PollingRouteSource(fetch, namespace, f"file {vs_file}", interval)


def _load_documents(path: Path) -> list[IstioObject]:
    try:
        loaded = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as error:
        raise SourceUnavailableError(f"{path}: cannot read YAML: {error}") from None
    return [doc for doc in loaded if isinstance(doc, Mapping)]


def _find(documents: list[IstioObject], kind: str, name: str) -> IstioObject | None:
    for document in documents:
        metadata = document.get("metadata") or {}
        if document.get("kind") == kind and metadata.get("name") == name:
            return document
    return None
