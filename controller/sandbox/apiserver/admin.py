"""The sandbox's admin surface: the client of ``/_sandbox/faults`` (for tests and the CLI), and
``/admin/requests``, the count of API requests served since start (for benchmarks and tests).

Clients talk only to the sandbox server whose URL they are given (a loopback address in practice).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import weakref
from collections import Counter
from typing import Any

from .app import FAULTS_PATH
from .endpoints import verb_of
from .errors import ApiError, method_not_allowed
from .protocol import Request, Response
from .routing import ResourcePath, parse

REQUESTS_PATH = "/admin/requests"
# Paths that control the sandbox rather than use the API; never counted.
_UNCOUNTED_PREFIXES = ("/admin/", "/_sandbox/")


class AdminError(RuntimeError):
    """The admin endpoint refused the request; the message carries its Status message."""


def _call(url: str, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the URL is the sandbox server's own
        url.rstrip("/") + FAULTS_PATH,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            result: dict[str, Any] = json.loads(response.read())
            return result
    except urllib.error.HTTPError as error:
        detail = json.loads(error.read() or b"{}").get("message", str(error))
        raise AdminError(f"fault endpoint at {url} answered {error.code}: {detail}") from error


def inject_fault(url: str, **fields: Any) -> dict[str, Any]:
    """Add a fault rule (fields as FaultRule's); returns the rule with its id."""
    return _call(url, "POST", fields)


def list_faults(url: str) -> list[dict[str, Any]]:
    faults: list[dict[str, Any]] = _call(url, "GET")["faults"]
    return faults


def clear_faults(url: str) -> None:
    _call(url, "DELETE")


class RequestCounter:
    """Counts of API requests served, by verb and by resource plural; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = 0
        self._non_resource = 0
        self._by_verb: Counter[str] = Counter()
        self._by_resource: Counter[str] = Counter()
        self._by_resource_verb: Counter[tuple[str, str]] = Counter()

    def record(self, request: Request) -> None:
        if request.path.startswith(_UNCOUNTED_PREFIXES):
            return
        parsed = parse(request.path)
        if not isinstance(parsed, ResourcePath):
            with self._lock:
                self._total += 1
                self._non_resource += 1  # discovery, OpenAPI, /version, health
            return
        try:
            verb = verb_of(request, parsed)
        except ApiError:
            verb = request.method.lower()  # answered 405 by the endpoint; still a request
        with self._lock:
            self._total += 1
            self._by_verb[verb] += 1
            self._by_resource[parsed.plural] += 1
            self._by_resource_verb[parsed.plural, verb] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            by_resource_verb: dict[str, dict[str, int]] = {}
            for (plural, verb), count in sorted(self._by_resource_verb.items()):
                by_resource_verb.setdefault(plural, {})[verb] = count
            return {
                "total": self._total,
                "nonResource": self._non_resource,
                "byVerb": dict(sorted(self._by_verb.items())),
                "byResource": dict(sorted(self._by_resource.items())),
                "byResourceVerb": by_resource_verb,
            }


# One counter per running App; kept beside it so the App's constructor stays as it is.
_COUNTERS: weakref.WeakKeyDictionary[object, RequestCounter] = weakref.WeakKeyDictionary()
_COUNTERS_LOCK = threading.Lock()


def counter_for(app: object) -> RequestCounter:
    with _COUNTERS_LOCK:
        counter = _COUNTERS.get(app)
        if counter is None:
            counter = _COUNTERS[app] = RequestCounter()
        return counter


def requests_response(counter: RequestCounter, request: Request) -> Response:
    """The answer to ``/admin/requests``: GET only."""
    if request.method != "GET":
        return Response.error(method_not_allowed(request.method, REQUESTS_PATH))
    return Response.ok(counter.snapshot())


def request_counts(url: str) -> dict[str, Any]:
    """The sandbox server's request counts: total, nonResource, byVerb, byResource,
    byResourceVerb (plural -> verb -> count)."""
    with urllib.request.urlopen(  # noqa: S310 - the URL is the sandbox server's own
        url.rstrip("/") + REQUESTS_PATH, timeout=10
    ) as response:
        counts: dict[str, Any] = json.loads(response.read())
        return counts
