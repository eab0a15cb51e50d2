"""A small, typed Kubernetes client over the official ``kubernetes`` package.

The package loads the credentials (kubeconfig, exec plugins, in-cluster service account) and
builds the connection pool with their TLS settings; requests are sent on that pool with explicit
paths and content types, because the generated custom-object methods always send merge patches
and we need JSON patches (with ``test`` ops and a resourceVersion precondition) for
VirtualServices, and a streamed watch of any resource. Only the parts that both generations of
the package share are used (``Configuration``, ``ApiClient.rest_client.pool_manager``,
``Configuration.auth_settings``): ``ApiClient.call_api`` changed its signature and its answer in
35. Retries are off and timeouts bounded: an unreachable API server costs one timeout, and the
caller decides what to do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from controller.kube.errors import KubeError, error_for_status, status_message, translate
from controller.kube.resources import Resource

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: dict[str, Any]


def load_configuration(
    kubeconfig: Path | None = None, context: str | None = None
) -> k8s.Configuration:
    """From a kubeconfig file when given (or found), else the in-cluster service account."""
    configuration = k8s.Configuration()
    try:
        if kubeconfig is None and _in_cluster():
            k8s_config.load_incluster_config(client_configuration=configuration)
        else:
            k8s_config.load_kube_config(
                config_file=str(kubeconfig) if kubeconfig else None,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
    except (k8s_config.ConfigException, OSError, TypeError) as exc:
        where = kubeconfig or "~/.kube/config or in-cluster service account"
        raise KubeError(
            f"cannot load Kubernetes credentials from {where}: {exc}. Pass --kubeconfig, or run "
            "inside the cluster with a service account"
        ) from exc
    configuration.retries = False
    return configuration


def _in_cluster() -> bool:
    return Path("/var/run/secrets/kubernetes.io/serviceaccount/token").exists()


class KubeClient:
    """Plain-dict reads and writes of namespaced objects, with our error types."""

    def __init__(self, configuration: k8s.Configuration, timeout_seconds: float = 10.0) -> None:
        self._configuration = configuration
        self._api = k8s.ApiClient(configuration)
        self._pool: urllib3.PoolManager = self._api.rest_client.pool_manager
        self._timeout = timeout_seconds

    def close(self) -> None:
        self._api.close()

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        """The client's default headers (User-Agent), the credentials' (a bearer token, fresh
        from an exec plugin when it has one), then `extra`."""
        headers = {str(k): str(v) for k, v in self._api.default_headers.items()}
        for setting in self._configuration.auth_settings().values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[str(setting["key"])] = str(setting["value"])
        return {**headers, **extra}

    def _send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        query: list[tuple[str, Any]] | None = None,
        body: Any = None,
        timeout: urllib3.Timeout,
    ) -> Any:
        """One request on the pool, unread (preload_content=False): the caller reads it."""
        url = self._configuration.host.rstrip("/") + path
        if query:
            url += "?" + urlencode([(k, _query_value(v)) for k, v in query])
        return self._pool.request(
            method,
            url,
            body=None if body is None else json.dumps(body),
            headers=self._headers(headers),
            timeout=timeout,
            preload_content=False,
            retries=False,
        )

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        query: list[tuple[str, Any]] | None = None,
    ) -> dict[str, Any]:
        try:
            response = self._send(
                method,
                path,
                headers={"Accept": "application/json", "Content-Type": content_type},
                query=query,
                body=body,
                timeout=urllib3.Timeout(total=self._timeout),
            )
            try:
                data = response.read()
            finally:
                response.release_conn()
        except Exception as exc:
            raise translate(exc, what) from exc
        _raise_for_status(response.status, data, what)
        try:
            result = json.loads(data)
        except ValueError as exc:
            raise KubeError(f"{what}: the answer is not JSON: {data[:200]!r}") from exc
        if not isinstance(result, dict):
            raise KubeError(f"{what}: unexpected response {result!r:.200}")
        return result

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any]:
        what = f"get {resource.kind} {namespace}/{name}"
        return self._call("GET", resource.object_path(namespace, name), what)

    def list_objects(
        self, resource: Resource, namespace: str | None = None
    ) -> tuple[list[dict[str, Any]], str]:
        """Items and the list's resourceVersion (to start a watch from)."""
        where = namespace or "all namespaces"
        result = self._call(
            "GET", resource.collection_path(namespace), f"list {resource.plural} in {where}"
        )
        items = result.get("items") or []
        return list(items), str(result.get("metadata", {}).get("resourceVersion", ""))

    def create(self, resource: Resource, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("metadata", {}).get("name") or body.get("metadata", {}).get("generateName")
        what = f"create {resource.kind} {namespace}/{name}"
        return self._call("POST", resource.collection_path(namespace), what, body=body)

    def replace(self, resource: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        """PUT the whole object at the resourceVersion it carries (409 when stale)."""
        meta = obj["metadata"]
        what = f"update {resource.kind} {meta['namespace']}/{meta['name']}"
        return self._call(
            "PUT", resource.object_path(meta["namespace"], meta["name"]), what, body=obj
        )

    def json_patch(
        self, resource: Resource, namespace: str, name: str, operations: list[dict[str, Any]]
    ) -> dict[str, Any]:
        what = f"patch {resource.kind} {namespace}/{name}"
        path = resource.object_path(namespace, name)
        return self._call("PATCH", path, what, body=operations, content_type=JSON_PATCH)

    def merge_patch(
        self, resource: Resource, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any]:
        what = f"patch {resource.kind} {namespace}/{name}"
        path = resource.object_path(namespace, name)
        return self._call("PATCH", path, what, body=patch, content_type=MERGE_PATCH)

    def replace_status(self, resource: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        """PUT the status subresource; ``obj`` carries the resourceVersion it was read at, so a
        concurrent write answers 409 (``ConflictError``) instead of being overwritten."""
        meta = obj["metadata"]
        what = f"update status of {resource.kind} {meta['namespace']}/{meta['name']}"
        path = resource.object_path(meta["namespace"], meta["name"]) + "/status"
        return self._call("PUT", path, what, body=obj)

    def watch(
        self,
        resource: Resource,
        namespace: str | None,
        resource_version: str,
        timeout_seconds: int = 300,
    ) -> Iterator[WatchEvent]:
        """Events after ``resource_version`` until the server ends the watch. A too-old version
        raises ``GoneError``: re-list and watch again."""
        query: list[tuple[str, Any]] = [
            ("watch", "true"),
            ("resourceVersion", resource_version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", timeout_seconds),
        ]
        what = f"watch {resource.plural}"
        try:
            response = self._send(
                "GET",
                resource.collection_path(namespace),
                headers={"Accept": "application/json"},
                query=query,
                timeout=urllib3.Timeout(connect=self._timeout, read=timeout_seconds + 30),
            )
        except Exception as exc:
            raise translate(exc, what) from exc
        try:
            if not 200 <= response.status <= 299:
                _raise_for_status(response.status, response.read(), what)
            yield from _watch_events(response, what)
        finally:
            response.release_conn()


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _raise_for_status(status: int, data: bytes, what: str) -> None:
    """Our error for a non-2xx answer, with the API server's own message when it sent one."""
    if 200 <= status <= 299:
        return
    detail = status_message(data) if data else ""
    raise error_for_status(status, f"{what}: HTTP {status}: {detail}")


def _decode_event(line: str, what: str) -> WatchEvent:
    event = json.loads(line)
    kind = event.get("type", "")
    obj = event.get("object") or {}
    if kind == "ERROR":
        message = obj.get("message", "watch error")
        raise error_for_status(int(obj.get("code") or 0), f"{what}: {message}")
    return WatchEvent(kind, obj)


def _lines(response: Any) -> Iterator[str]:
    """The stream's lines as they arrive (a watch sends one JSON event per line)."""
    pending = b""
    for chunk in response.stream(amt=None, decode_content=True):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", errors="replace")
    if pending:
        yield pending.decode("utf-8", errors="replace")


def _watch_events(response: Any, what: str) -> Iterator[WatchEvent]:
    lines = _lines(response)
    while True:
        try:
            line = next(lines)
        except StopIteration:
            return
        except Exception as exc:  # a broken stream is an unavailable API
            raise translate(exc, what) from exc
        if not line.strip():
            continue
        try:
            event = _decode_event(line, what)
        except ValueError as exc:
            raise KubeError(f"{what}: an event that is not JSON: {line[:200]!r}") from exc
        yield event


def context_namespace(kubeconfig: Path | None, context: str | None = None) -> str | None:
    """The namespace of the kubeconfig's current (or named) context, if it sets one."""
    try:
        contexts, active = k8s_config.list_kube_config_contexts(
            config_file=str(kubeconfig) if kubeconfig else None
        )
    except (k8s_config.ConfigException, OSError, TypeError):
        return None
    chosen = next((c for c in contexts if c.get("name") == context), active) if context else active
    namespace = (chosen or {}).get("context", {}).get("namespace")
    return str(namespace) if namespace else None
