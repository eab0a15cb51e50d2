"""In-memory fakes at the reconcile seams: a ``Cluster`` that behaves like an API server where the
tick depends on it, and a Prometheus client answering by query pattern.

The cluster keeps objects as dicts and bumps one resourceVersion counter on every write, as the
API server does. Status writes and JSON patches carry resourceVersion preconditions (stale ->
``ConflictError``); patches are applied with the sandbox API server's own JSON patch code, so a
failing ``test`` op is a 422 (``InvalidError``). Every call is logged in order, so tests can
assert what happened before what.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from controller.analysis.client import PrometheusError, Sample
from controller.kube.errors import ConflictError, InvalidError, NotFoundError
from controller.kube.resources import TRAFFIC_SHIFTS, Resource
from controller.sandbox.apiserver.errors import ApiError
from controller.sandbox.apiserver.patching import json_patch

Key = tuple[str, str, str]  # kind, namespace, name
SHIFT = "TrafficShift"
VS = "VirtualService"
DR = "DestinationRule"


@dataclass(frozen=True)
class RecordedEvent:
    reason: str
    message: str
    warning: bool
    shift_resource_version: str  # the shift's resourceVersion the event was recorded against


@dataclass(frozen=True)
class Call:
    """One call on the fake, in the order the tick made it."""

    method: str
    detail: Any = None


@dataclass
class FakeCluster:
    """Implements ``controller.reconcile.ports.Cluster`` in memory (see the module docstring)."""

    objects: dict[Key, dict[str, Any]] = field(default_factory=dict)
    events: list[RecordedEvent] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    # When true, a VirtualService patch answers as if applied but stores nothing.
    silent_writes: bool = False
    _version: int = 100
    _scripted: dict[str, list[BaseException | Callable[[], object]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.client = FakeShiftClient(self)

    # -- test controls -------------------------------------------------------------------------

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or overwrite an object as someone else would (bumps its resourceVersion)."""
        stored = copy.deepcopy(obj)
        meta = stored.setdefault("metadata", {})
        meta.setdefault("generation", 1)
        meta.setdefault("uid", f"uid-{meta['name']}")
        return self._store(stored)

    def delete(self, kind: str, namespace: str, name: str) -> None:
        del self.objects[(kind, namespace, name)]

    def fail_next(self, method: str, *errors: BaseException) -> None:
        """The next ``len(errors)`` calls of ``method`` raise these errors, in order."""
        self._scripted.setdefault(method, []).extend(errors)

    def before_next(self, method: str, action: Callable[[], object]) -> None:
        """Run ``action`` just before the next call of ``method`` does its work (a concurrent
        writer getting in first)."""
        self._scripted.setdefault(method, []).append(action)

    def edit(
        self, kind: str, namespace: str, name: str, change: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        """Change a stored object in place as another writer would, bumping resourceVersion."""
        obj = copy.deepcopy(self.objects[(kind, namespace, name)])
        change(obj)
        return self._store(obj)

    def stored(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.objects[(kind, namespace, name)])

    def methods_called(self) -> list[str]:
        return [c.method for c in self.calls]

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def event_reasons(self) -> list[str]:
        return [e.reason for e in self.events]

    # -- the Cluster protocol -------------------------------------------------------------------

    def get_shift(self, namespace: str, name: str) -> dict[str, Any]:
        return self._get("get_shift", SHIFT, namespace, name)

    def get_virtual_service(self, namespace: str, name: str) -> dict[str, Any]:
        return self._get("get_virtual_service", VS, namespace, name)

    def get_destination_rule(self, namespace: str, name: str) -> dict[str, Any]:
        return self._get("get_destination_rule", DR, namespace, name)

    def patch_virtual_service(
        self, namespace: str, name: str, operations: list[dict[str, Any]]
    ) -> dict[str, Any]:
        self.calls.append(Call("patch_virtual_service", copy.deepcopy(operations)))
        self._run_script("patch_virtual_service")
        current = self._existing(VS, namespace, name)
        try:
            patched = json_patch(current, operations)
        except ApiError as exc:
            raise InvalidError(f"patch VirtualService {namespace}/{name}: {exc}", 422) from exc
        wanted_rv = patched["metadata"].get("resourceVersion")
        if wanted_rv != current["metadata"]["resourceVersion"]:
            raise ConflictError(
                f"patch VirtualService {namespace}/{name}: the object has been modified "
                f"(resourceVersion {wanted_rv}, stored {current['metadata']['resourceVersion']})",
                409,
            )
        if self.silent_writes:
            return copy.deepcopy(patched)
        if patched.get("spec") != current.get("spec"):
            patched["metadata"]["generation"] = int(current["metadata"]["generation"]) + 1
        return self._store(patched)

    def replace_shift_status(self, shift: dict[str, Any]) -> dict[str, Any]:
        meta = shift["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        self.calls.append(Call("replace_shift_status", copy.deepcopy(shift.get("status"))))
        self._run_script("replace_shift_status")
        current = self._existing(SHIFT, namespace, name)
        if meta.get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise ConflictError(
                f"update status of TrafficShift {namespace}/{name}: the object has been modified",
                409,
            )
        # The status subresource writes the status only; spec and metadata stay as stored.
        return self._store({**current, "status": copy.deepcopy(shift.get("status"))})

    def patch_shift(
        self, namespace: str, name: str, operations: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """As the API server: the patch applies to the stored object under its resourceVersion
        guard; a deleting object whose finalizers become empty is gone."""
        self.calls.append(Call("patch_shift", copy.deepcopy(operations)))
        self._run_script("patch_shift")
        current = self._existing(SHIFT, namespace, name)
        try:
            patched = json_patch(current, operations)
        except ApiError as exc:
            raise InvalidError(f"patch TrafficShift {namespace}/{name}: {exc}", 422) from exc
        if patched["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise ConflictError(f"patch TrafficShift {namespace}/{name}: modified", 409)
        meta = patched["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            del self.objects[(SHIFT, namespace, name)]
            return copy.deepcopy(patched)
        return self._store(patched)

    def mark_deleted(self, namespace: str, name: str, at: str = "2024-05-01T12:00:00Z") -> None:
        """A delete of a shift with finalizers, as the API server does it: only marked."""
        obj = copy.deepcopy(self.objects[(SHIFT, namespace, name)])
        if not obj["metadata"].get("finalizers"):
            del self.objects[(SHIFT, namespace, name)]
            return
        obj["metadata"]["deletionTimestamp"] = at
        obj["metadata"]["generation"] = int(obj["metadata"].get("generation") or 1) + 1
        self._store(obj)

    def record_event(
        self, shift: dict[str, Any], *, reason: str, message: str, warning: bool, now: datetime
    ) -> None:
        self.calls.append(Call("record_event", reason))
        rv = str(shift["metadata"].get("resourceVersion", ""))
        self.events.append(RecordedEvent(reason, message, warning, rv))

    # -- internals -----------------------------------------------------------------------------

    def _get(self, method: str, kind: str, namespace: str, name: str) -> dict[str, Any]:
        self.calls.append(Call(method, name))
        self._run_script(method)
        return copy.deepcopy(self._existing(kind, namespace, name))

    def _existing(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        try:
            return self.objects[(kind, namespace, name)]
        except KeyError:
            raise NotFoundError(
                f"get {kind} {namespace}/{name}: HTTP 404: not found", 404
            ) from None

    def _run_script(self, method: str) -> None:
        script = self._scripted.get(method)
        if not script:
            return
        step = script.pop(0)
        if isinstance(step, BaseException):
            raise step
        step()

    def _store(self, obj: dict[str, Any]) -> dict[str, Any]:
        self._version += 1
        obj["metadata"]["resourceVersion"] = str(self._version)
        meta = obj["metadata"]
        self.objects[(obj["kind"], meta["namespace"], meta["name"])] = obj
        return copy.deepcopy(obj)


@dataclass
class FakeShiftClient:
    """The slice of ``KubeClient`` that ``pipeline.apply_shift`` uses, over a FakeCluster."""

    cluster: FakeCluster
    writes: list[str] = field(default_factory=list)

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any]:
        assert resource == TRAFFIC_SHIFTS
        return self.cluster.get_shift(namespace, name)

    def create(self, resource: Resource, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        assert resource == TRAFFIC_SHIFTS
        assert body["metadata"]["namespace"] == namespace
        if (SHIFT, namespace, body["metadata"]["name"]) in self.cluster.objects:
            raise ConflictError("create TrafficShift: already exists", 409)
        self.writes.append("create")
        return self.cluster.put(body)

    def replace(self, resource: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        assert resource == TRAFFIC_SHIFTS
        meta = obj["metadata"]
        current = self.cluster.objects[(SHIFT, meta["namespace"], meta["name"])]
        if meta.get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise ConflictError("update TrafficShift: the object has been modified", 409)
        self.writes.append("replace")

        def new_spec(stored: dict[str, Any]) -> None:
            if stored["spec"] != obj["spec"]:
                stored["metadata"]["generation"] += 1
            stored["spec"] = copy.deepcopy(obj["spec"])  # a PUT on the object ignores status

        return self.cluster.edit(SHIFT, meta["namespace"], meta["name"], new_spec)


# -- Prometheus --------------------------------------------------------------------------------

Answer = float | None | PrometheusError  # None: an empty result (no series)

REQUEST_COUNT = r"^sum\(increase\(istio_requests_total"
ERROR_RATE = r"^100 \* \(sum\(rate\(istio_requests_total"
LATENCY_P99 = r"^histogram_quantile\(0\.99,"


@dataclass
class FakePrometheus:
    """Answers an instant query with the value set for the first pattern that matches it.

    An unmatched query fails the test: every query the tick sends must be one we expect.
    """

    answers: dict[str, Answer] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    @classmethod
    def healthy(
        cls, *, requests: float = 500, error_rate: float = 0.1, p99: float = 120
    ) -> FakePrometheus:
        """Plenty of canary traffic, a low error rate and latency: every default gate passes."""
        return cls({REQUEST_COUNT: requests, ERROR_RATE: error_rate, LATENCY_P99: p99})

    def set(self, pattern: str, answer: Answer) -> None:
        self.answers[pattern] = answer

    def instant_query(self, promql: str) -> list[Sample]:
        self.asked.append(promql)
        for pattern, answer in self.answers.items():
            if re.search(pattern, promql):
                if isinstance(answer, PrometheusError):
                    raise answer
                return [] if answer is None else [Sample(value=answer)]
        raise AssertionError(f"unexpected query: {promql}")
