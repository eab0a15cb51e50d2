"""Reading the few VirtualService fields the weight engine reasons about.

VirtualServices arrive as the plain JSON-like dicts the Kubernetes API returns. This module owns
how routing reads `spec.http[i]` (its `name`, `match` and `route` entries), how it decides that a
destination host is the managed host, and `ManagedRoute`, the handle on the one http route a shift
manages. Everything else in a spec is never parsed, so it can never be changed or lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controller.routing.errors import RoutingError

Spec = Mapping[str, Any]


@dataclass(frozen=True)
class ManagedRoute:
    """The http route a shift manages: where it is, what it is called, which host it splits."""

    index: int
    name: str | None
    host: str

    @property
    def path(self) -> str:
        return http_path(self.index)

    def describe(self) -> str:
        return describe_route(self.index, self.name)


@dataclass(frozen=True)
class RouteEntry:
    """One `spec.http[i].route[j]` entry, read and type-checked."""

    path: str
    host: str
    subset: str | None
    weight: int | None
    raw: Mapping[str, Any]


def http_path(index: int) -> str:
    return f"spec.http[{index}]"


def describe_route(index: int, name: str | None) -> str:
    label = f"name {name!r}" if name is not None else "unnamed"
    return f"{http_path(index)} ({label})"


def same_host(a: str, b: str) -> bool:
    """Whether two destination hosts name the same service.

    Istio reads a short name such as `reviews` as the service of that name in the
    VirtualService's namespace, so it matches `reviews.bookinfo.svc.cluster.local`. The namespace
    is not compared: routing never sees which namespace the VirtualService lives in.
    """
    if a == b:
        return True
    short, full = sorted((a, b), key=len)
    return full.split(".", 1)[0] == short


def http_routes(vs_spec: Spec) -> Sequence[Mapping[str, Any]]:
    """`spec.http`, checked to be a list of objects (a missing list is empty)."""
    http = vs_spec.get("http")
    if http is None:
        return []
    if not isinstance(http, list):
        raise RoutingError(
            f"expected a list of http routes, found {type(http).__name__}",
            path="spec.http",
            fix="make spec.http a list of http routes in the VirtualService",
        )
    for index, route in enumerate(http):
        if not isinstance(route, Mapping):
            raise RoutingError(
                f"expected an http route object, found {type(route).__name__}",
                path=http_path(index),
                fix="make every entry of spec.http an object with `route` destinations",
            )
    return http


def route_name(http_route: Mapping[str, Any]) -> str | None:
    name = http_route.get("name")
    return name if isinstance(name, str) else None


def match_of(http_route: Mapping[str, Any]) -> list[Any]:
    """The route's `match` list; a missing or empty one means the route matches everything."""
    match = http_route.get("match")
    return match if isinstance(match, list) else []


def sends_to(http_route: Mapping[str, Any], host: str, subsets: Sequence[str]) -> bool:
    """Whether any destination goes to `host` with one of `subsets`; tolerates odd shapes.

    Used to scan routes weightgate does not manage, which must never make a shift fail.
    """
    return any(
        same_host(host, destination.get("host", "")) and destination.get("subset") in subsets
        for destination in _destinations(http_route)
    )


def subsets_to(http_route: Mapping[str, Any], host: str) -> list[str]:
    """Subsets this route sends `host` to, in order ("(none)" for a destination without one)."""
    return [
        str(destination.get("subset", "(none)"))
        for destination in _destinations(http_route)
        if same_host(host, destination.get("host", ""))
    ]


def _destinations(http_route: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entries = http_route.get("route")
    if not isinstance(entries, list):
        return []
    return [
        entry["destination"]
        for entry in entries
        if isinstance(entry, Mapping)
        and isinstance(entry.get("destination"), Mapping)
        and isinstance(entry["destination"].get("host"), str)
    ]


def managed_http_route(vs_spec: Spec, managed: ManagedRoute) -> Mapping[str, Any]:
    """The http route at `managed.index`, after checking it is still the route that was found.

    Someone may reorder or rename routes between ticks; writing by a stale index would change a
    route weightgate does not own.
    """
    http = http_routes(vs_spec)
    stale_fix = (
        "nothing was written; weightgate finds the managed route again on its next read. If "
        "you renamed the route, update spec.route in the TrafficShift too"
    )
    if not 0 <= managed.index < len(http):
        raise RoutingError(
            f"the managed route {managed.describe()} is gone: spec.http has {len(http)} route(s)",
            path=managed.path,
            fix=stale_fix,
        )
    http_route = http[managed.index]
    name = route_name(http_route)
    if name != managed.name:
        raise RoutingError(
            f"expected the managed route {managed.describe()}, found "
            f"{describe_route(managed.index, name)}",
            path=f"{managed.path}.name",
            fix=stale_fix,
        )
    if managed.name is None and match_of(http_route):
        raise RoutingError(
            "expected the managed route without `match`, found a route with `match`",
            path=f"{managed.path}.match",
            fix=stale_fix,
        )
    return http_route


def route_entries(vs_spec: Spec, managed: ManagedRoute) -> list[RouteEntry]:
    """The managed route's destinations, type-checked; at least one goes to the managed host."""
    http_route = managed_http_route(vs_spec, managed)
    path = f"{managed.path}.route"
    raw_entries = http_route.get("route")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise RoutingError(
            "the managed route has no `route` destinations (redirect, delegate and "
            "directResponse routes carry no weights)",
            path=path,
            fix=f"set spec.route in the TrafficShift to a route that sends to {managed.host!r}",
        )
    entries = [_read_entry(raw, f"{path}[{j}]") for j, raw in enumerate(raw_entries)]
    if not any(same_host(entry.host, managed.host) for entry in entries):
        hosts = ", ".join(sorted({entry.host for entry in entries}))
        raise RoutingError(
            f"no destination goes to host {managed.host!r} (it sends to: {hosts})",
            path=path,
            fix="set spec.host in the TrafficShift to the host this route sends to, or "
            "spec.route to a route that sends to the host",
        )
    return entries


def _read_entry(raw: object, path: str) -> RouteEntry:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("destination"), Mapping):
        raise RoutingError(
            "the route entry has no `destination` object",
            path=f"{path}.destination",
            fix="give every route entry a destination with `host` and `subset`",
        )
    destination = raw["destination"]
    host = destination.get("host")
    if not isinstance(host, str) or not host:
        raise RoutingError(
            "the destination has no `host`",
            path=f"{path}.destination.host",
            fix="set the destination's host (the service name, e.g. `reviews`)",
        )
    subset = destination.get("subset")
    if subset is not None and not isinstance(subset, str):
        raise RoutingError(
            f"the subset is {type(subset).__name__}, not a string",
            path=f"{path}.destination.subset",
            fix="set the subset to a DestinationRule subset name such as `v1`",
        )
    weight = raw.get("weight")
    if weight is not None and (isinstance(weight, bool) or not isinstance(weight, int)):
        raise RoutingError(
            f"the weight is {weight!r}, not an integer",
            path=f"{path}.weight",
            fix="set the weight to a whole percent from 0 to 100",
        )
    return RouteEntry(path=path, host=host, subset=subset, weight=weight, raw=raw)
