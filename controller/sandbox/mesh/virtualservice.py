"""Reading of the `reviews` VirtualService and DestinationRule into the mesh's routing table.

Owns turning the two Istio objects (plain dicts, as the Kubernetes API returns them) into frozen
dataclasses the router evaluates per request: http routes with their match conditions and
weighted destinations, and the DestinationRule's subset labels. No I/O, no randomness.

Supported match conditions: `uri`, `method`, `headers`, `withoutHeaders`, `queryParams`,
`ignoreUriCase`, `sourceLabels`, `sourceNamespace`. Other Istio fields (retries, timeouts, fault,
mirror, gateways, ...) are accepted and ignored: the sandbox has no gateway and no retries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

MatchKind = Literal["exact", "prefix", "regex", "present"]
_VALUE_KINDS: tuple[MatchKind, ...] = ("exact", "prefix", "regex")


class VirtualServiceError(ValueError):
    """A VirtualService or DestinationRule the mesh cannot follow; names the field path."""


@dataclass(frozen=True)
class StringMatch:
    """One Istio StringMatch: exact, prefix, regex (whole value, as Envoy's RE2) or presence."""

    kind: MatchKind
    value: str
    pattern: re.Pattern[str] | None = field(default=None, compare=False)

    def matches(self, candidate: str | None, *, ignore_case: bool = False) -> bool:
        if candidate is None:
            return False
        if self.kind == "present":
            return True
        if self.kind == "regex":
            assert self.pattern is not None
            return self.pattern.fullmatch(candidate) is not None
        expected = self.value.lower() if ignore_case else self.value
        actual = candidate.lower() if ignore_case else candidate
        if self.kind == "exact":
            return actual == expected
        return actual.startswith(expected)


@dataclass(frozen=True)
class MatchRequest:
    """One HTTPMatchRequest: every condition it names must hold (AND)."""

    uri: StringMatch | None = None
    method: StringMatch | None = None
    headers: tuple[tuple[str, StringMatch], ...] = ()
    without_headers: tuple[tuple[str, StringMatch], ...] = ()
    query_params: tuple[tuple[str, StringMatch], ...] = ()
    ignore_uri_case: bool = False
    source_labels: tuple[tuple[str, str], ...] = ()
    source_namespace: str | None = None


@dataclass(frozen=True)
class WeightedDestination:
    """One `route[]` entry: a host, an optional subset and its weight."""

    host: str
    subset: str | None
    weight: int


@dataclass(frozen=True)
class HttpRoute:
    """One `http[]` entry: it applies when any of its matches holds (OR), or always if none."""

    name: str | None
    matches: tuple[MatchRequest, ...]
    destinations: tuple[WeightedDestination, ...]


@dataclass(frozen=True)
class RoutingTable:
    """What the router follows. `routes is None` means there is no VirtualService at all."""

    namespace: str
    routes: tuple[HttpRoute, ...] | None
    subsets: Mapping[str, Mapping[str, str]]
    resource_version: str | None = None

    def summary(self) -> list[dict[str, Any]]:
        """Routes as plain data for `/admin/state`."""
        if self.routes is None:
            return []
        return [
            {
                "name": route.name,
                "has_match": bool(route.matches),
                "destinations": [
                    {"host": d.host, "subset": d.subset, "weight": d.weight}
                    for d in route.destinations
                ],
            }
            for route in self.routes
        ]


def build_routing_table(
    virtual_service: Mapping[str, Any] | None,
    destination_rule: Mapping[str, Any] | None,
    namespace: str,
) -> RoutingTable:
    """Parse both objects; raise VirtualServiceError naming the offending field."""
    subsets = _parse_subsets(destination_rule) if destination_rule is not None else {}
    if virtual_service is None:
        return RoutingTable(namespace=namespace, routes=None, subsets=subsets)
    spec = _mapping(virtual_service.get("spec"), "spec")
    http = spec.get("http") or []
    if not isinstance(http, list):
        raise VirtualServiceError("spec.http: must be a list of http routes")
    routes = tuple(_parse_http_route(entry, f"spec.http[{i}]") for i, entry in enumerate(http))
    metadata = virtual_service.get("metadata")
    version = metadata.get("resourceVersion") if isinstance(metadata, Mapping) else None
    return RoutingTable(
        namespace=namespace,
        routes=routes,
        subsets=subsets,
        resource_version=str(version) if version is not None else None,
    )


def _parse_subsets(destination_rule: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    spec = _mapping(destination_rule.get("spec"), "DestinationRule spec")
    subsets: dict[str, dict[str, str]] = {}
    for i, subset in enumerate(spec.get("subsets") or []):
        path = f"DestinationRule spec.subsets[{i}]"
        entry = _mapping(subset, path)
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise VirtualServiceError(f"{path}.name: every subset needs a non-empty name")
        subsets[name] = _string_map(entry.get("labels") or {}, f"{path}.labels")
    return subsets


def _parse_http_route(entry: Any, path: str) -> HttpRoute:
    route = _mapping(entry, path)
    matches = tuple(
        _parse_match(match, f"{path}.match[{i}]")
        for i, match in enumerate(route.get("match") or [])
    )
    raw_destinations = route.get("route") or []
    if not isinstance(raw_destinations, list):
        raise VirtualServiceError(f"{path}.route: must be a list of destinations")
    destinations = tuple(
        _parse_destination(d, f"{path}.route[{i}]", single=len(raw_destinations) == 1)
        for i, d in enumerate(raw_destinations)
    )
    name = route.get("name")
    return HttpRoute(
        name=name if isinstance(name, str) else None, matches=matches, destinations=destinations
    )


def _parse_destination(entry: Any, path: str, *, single: bool) -> WeightedDestination:
    item = _mapping(entry, path)
    destination = _mapping(item.get("destination"), f"{path}.destination")
    host = destination.get("host")
    if not isinstance(host, str) or not host:
        raise VirtualServiceError(f"{path}.destination.host: a destination needs a host")
    subset = destination.get("subset")
    if subset is not None and not isinstance(subset, str):
        raise VirtualServiceError(f"{path}.destination.subset: must be a string")
    weight = item.get("weight")
    if weight is None:
        # Istio sends all traffic to a lone destination whatever its weight says.
        weight = 100 if single else 0
    if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
        raise VirtualServiceError(f"{path}.weight: must be an integer 0-100, got {weight!r}")
    return WeightedDestination(host=host, subset=subset or None, weight=100 if single else weight)


def _parse_match(entry: Any, path: str) -> MatchRequest:
    match = _mapping(entry, path)
    source_namespace = match.get("sourceNamespace")
    return MatchRequest(
        uri=_optional_string_match(match.get("uri"), f"{path}.uri"),
        method=_optional_string_match(match.get("method"), f"{path}.method"),
        headers=_named_matches(match.get("headers"), f"{path}.headers", lower_names=True),
        without_headers=_named_matches(
            match.get("withoutHeaders"), f"{path}.withoutHeaders", lower_names=True
        ),
        query_params=_named_matches(match.get("queryParams"), f"{path}.queryParams"),
        ignore_uri_case=bool(match.get("ignoreUriCase", False)),
        source_labels=tuple(
            sorted(_string_map(match.get("sourceLabels") or {}, f"{path}.sourceLabels").items())
        ),
        source_namespace=source_namespace if isinstance(source_namespace, str) else None,
    )


def _named_matches(
    raw: Any, path: str, *, lower_names: bool = False
) -> tuple[tuple[str, StringMatch], ...]:
    if raw is None:
        return ()
    entries = _mapping(raw, path)
    # HTTP header names are case-insensitive; the router hands headers over lower-cased.
    return tuple(
        (name.lower() if lower_names else name, _string_match(value, f"{path}.{name}"))
        for name, value in entries.items()
    )


def _optional_string_match(raw: Any, path: str) -> StringMatch | None:
    return None if raw is None else _string_match(raw, path)


def _string_match(raw: Any, path: str) -> StringMatch:
    spec = _mapping(raw, path)
    if not spec:
        return StringMatch(kind="present", value="")
    kinds = [kind for kind in _VALUE_KINDS if kind in spec]
    if len(kinds) != 1:
        raise VirtualServiceError(f"{path}: needs exactly one of exact, prefix or regex")
    kind = kinds[0]
    value = spec[kind]
    if not isinstance(value, str):
        raise VirtualServiceError(f"{path}.{kind}: must be a string, got {value!r}")
    if kind != "regex":
        return StringMatch(kind=kind, value=value)
    try:
        pattern = re.compile(value)
    except re.error as error:
        raise VirtualServiceError(
            f"{path}.regex: {value!r} is not a valid regex: {error}"
        ) from None
    return StringMatch(kind="regex", value=value, pattern=pattern)


def _mapping(raw: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise VirtualServiceError(f"{path}: must be an object, got {type(raw).__name__}")
    return raw


def _string_map(raw: Any, path: str) -> dict[str, str]:
    entries = _mapping(raw, path)
    if not all(isinstance(value, str) for value in entries.values()):
        raise VirtualServiceError(f"{path}: every value must be a string")
    return {str(key): str(value) for key, value in entries.items()}
