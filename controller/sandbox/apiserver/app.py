"""The application: routes every request to discovery, OpenAPI, admin or resource endpoints.

Non-resource paths answered here: ``/version``, ``/healthz`` (and ``/livez``, ``/readyz``),
``/api``, ``/apis``, the discovery documents, ``/openapi/v3`` (index and per group/version),
``/openapi/v2`` (a document without definitions, in JSON or protobuf: kubectl 1.27 and 1.28 need
it for apply, replace and edit), and the sandbox's own ``/_sandbox/faults`` admin endpoint.
Any ApiError becomes its Status response.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable

from . import discovery, openapi
from .endpoints import ResourceEndpoints, WatchResponse
from .errors import ApiError, JsonObject, bad_request, method_not_allowed, path_not_found
from .faults import FaultInjector, FaultRule
from .protocol import Request, Response
from .registry import Registry
from .resources import Resources
from .routing import GroupVersionPath, ResourcePath, parse

FAULTS_PATH = "/_sandbox/faults"
_HEALTH = ("/healthz", "/livez", "/readyz")


class OpenApiCache:
    """Per group/version OpenAPI documents, rebuilt only when the registry changes."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._lock = threading.Lock()
        self._revision = -1
        self._index: JsonObject = {}
        self._documents: dict[str, JsonObject | None] = {}

    def _refresh(self) -> None:
        if self._revision != self.registry.revision:
            self._revision = self.registry.revision
            self._index = openapi.index(self.registry)
            self._documents = {}

    def index(self) -> JsonObject:
        with self._lock:
            self._refresh()
            return self._index

    def document(self, group: str, version: str) -> JsonObject | None:
        with self._lock:
            self._refresh()
            key = f"{group}/{version}"
            if key not in self._documents:
                self._documents[key] = openapi.group_version_document(self.registry, group, version)
            return self._documents[key]


class App:
    """Turns Requests into Responses (or a WatchResponse to stream)."""

    def __init__(
        self,
        resources: Resources,
        faults: FaultInjector,
        stop: threading.Event,
        server_address: str = "127.0.0.1",
    ) -> None:
        self.resources = resources
        self.registry = resources.registry
        self.faults = faults
        self.server_address = server_address
        self.openapi = OpenApiCache(self.registry)
        self.endpoints = ResourceEndpoints(resources, self.registry, faults, stop)

    def handle(self, request: Request) -> Response | WatchResponse:
        try:
            return self._route(request)
        except ApiError as error:
            return Response.error(error)
        except Exception as error:  # noqa: BLE001 - a bug must answer 500, not drop the connection
            traceback.print_exc(file=sys.stderr)
            message = f"Internal error occurred: {type(error).__name__}: {error}"
            return Response.error(ApiError(500, message))

    def _route(self, request: Request) -> Response | WatchResponse:
        path = request.path
        if path == FAULTS_PATH:
            return self._faults(request)
        if path in _HEALTH:
            return Response(200, "ok", "text/plain")
        parsed = parse(path)
        if isinstance(parsed, ResourcePath):
            return self.endpoints.handle(request, parsed)
        if request.method != "GET":
            raise method_not_allowed(request.method, path)
        if path == "/openapi/v2":
            return _openapi_v2(request)
        return Response.ok(self._document(path, parsed))

    def _document(self, path: str, parsed: GroupVersionPath | None) -> JsonObject:
        """The read-only JSON documents: version, discovery and OpenAPI."""
        fixed: dict[str, Callable[[], JsonObject]] = {
            "/version": lambda: discovery.SERVER_VERSION,
            "/api": lambda: discovery.api_versions(self.server_address),
            "/apis": lambda: discovery.api_group_list(self.registry),
        }
        document: JsonObject | None = None
        if path in fixed:
            document = fixed[path]()
        elif path.startswith("/openapi/"):
            document = self._openapi(path)
        elif parsed is not None:
            document = self._discovery(parsed)
        if document is None:
            raise path_not_found()
        return document

    def _discovery(self, path: GroupVersionPath) -> JsonObject | None:
        if path.version:
            return discovery.api_resource_list(self.registry, path.group, path.version)
        return discovery.api_group(self.registry, path.group)

    def _openapi(self, path: str) -> JsonObject | None:
        if path == "/openapi/v3":
            return self.openapi.index()
        prefix = "/openapi/v3/"
        segments = path[len(prefix) :].split("/") if path.startswith(prefix) else []
        document = None
        if len(segments) == 2 and segments[0] == "api":
            document = self.openapi.document("", segments[1])
        elif len(segments) == 3 and segments[0] == "apis":
            document = self.openapi.document(segments[1], segments[2])
        return document

    def _faults(self, request: Request) -> Response:
        if request.method == "GET":
            return Response.ok({"faults": [r.to_json() for r in self.faults.rules()]})
        if request.method == "DELETE":
            self.faults.clear()
            return Response.ok({"faults": []})
        if request.method != "POST":
            raise method_not_allowed(request.method, FAULTS_PATH)
        body = request.json_body()
        if not isinstance(body, dict):
            raise bad_request("a fault is a JSON object: see FaultRule for its fields")
        try:
            rule = self.faults.add(FaultRule.from_json(body))
        except (TypeError, ValueError) as error:
            raise bad_request(f"invalid fault: {error}") from error
        return Response(201, rule.to_json())


def _openapi_v2(request: Request) -> Response:
    version = str(discovery.SERVER_VERSION["gitVersion"])
    if openapi.V2_PROTOBUF in request.headers.get("accept", ""):
        return Response(200, openapi.v2_protobuf(version), openapi.V2_PROTOBUF_ANSWER)
    return Response.ok(openapi.v2_document(version))
