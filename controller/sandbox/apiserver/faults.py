"""Fault injection for reliability tests: chosen requests fail, slow down, or both.

A FaultRule matches requests by verb, resource (plural, ``plural.group`` or ``plural/status``),
and optionally namespace and name. It fires for the next ``count`` matching requests (or for
every one when ``count`` is None), each time with ``probability`` drawn from its own seeded
random generator so a test run can be replayed. Firing adds ``latency_ms`` and, when ``status``
is set, answers that status as a real server would (403 Forbidden in the RBAC wording, 409
Conflict, 429, 500, 503...) instead of serving the request.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import ApiError, conflict, forbidden

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
_VERB_ALIASES = {"put": "update", "post": "create"}


@dataclass(frozen=True)
class RequestInfo:
    """What a fault rule can match on."""

    verb: str
    plural: str
    group: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""


@dataclass
class FaultRule:
    """One injected fault; see the module docstring for the matching rules."""

    verb: str = "*"
    resource: str = "*"
    namespace: str = ""
    name: str = ""
    status: int = 0
    latency_ms: int = 0
    count: int | None = 1
    probability: float = 1.0
    seed: int | None = None
    message: str = ""
    id: int = 0
    fired: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.verb = _VERB_ALIASES.get(self.verb.lower(), self.verb.lower())
        if self.verb != "*" and self.verb not in VERBS:
            raise ValueError(f"unknown verb {self.verb!r}: use one of {', '.join(VERBS)} or *")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be between 0 and 1, got {self.probability}")
        if self.status and not 400 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP error code (400-599), got {self.status}")
        if not self.status and not self.latency_ms:
            raise ValueError("a fault needs a status, a latency_ms, or both")
        self._random = random.Random(self.seed)  # noqa: S311 - seeded for replayable runs

    def matches(self, request: RequestInfo) -> bool:
        return (
            self.verb in ("*", request.verb)
            and self._resource_matches(request)
            and self.namespace in ("", request.namespace)
            and self.name in ("", request.name)
        )

    def _resource_matches(self, request: RequestInfo) -> bool:
        if self.resource == "*":
            return True
        resource, _, sub = self.resource.partition("/")
        plural, _, group = resource.partition(".")
        return (
            plural == request.plural
            and (not group or group == request.group)
            and sub == request.subresource
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_random")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k[0] != "_"}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown fault fields {unknown}: see FaultRule for the accepted ones")
        known.pop("id", None)
        known.pop("fired", None)
        return cls(**known)


@dataclass(frozen=True)
class FaultAction:
    """What a fired rule does to one request."""

    latency_ms: int
    error: ApiError | None


def error_for(rule: FaultRule, request: RequestInfo) -> ApiError | None:
    """The Status a real server would send with this code, marked as injected."""
    if not rule.status:
        return None
    if rule.status == 403:
        return forbidden(
            request.verb, request.plural, request.group, request.name, request.namespace
        )
    if rule.status == 409:
        return conflict(request.plural, request.group, request.name)
    message = rule.message or {
        500: "Internal error occurred: injected fault",
        503: "the server is currently unable to handle the request (injected fault)",
        429: "the server has received too many requests and has asked us to try again later",
    }.get(rule.status, f"injected fault (HTTP {rule.status})")
    return ApiError(rule.status, message)


class FaultInjector:
    """The active rules; thread-safe, first matching rule wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            self._rules.append(rule)
            return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def check(self, request: RequestInfo) -> FaultAction | None:
        """The action for this request, consuming one use of the rule that fires."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(request):
                    continue
                if rule._random.random() >= rule.probability:
                    continue
                rule.fired += 1
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                return FaultAction(rule.latency_ms, error_for(rule, request))
        return None
