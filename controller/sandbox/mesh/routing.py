"""Per-request routing decisions for `reviews`, made the way an Envoy sidecar makes them.

Owns: which http route of the VirtualService applies to a request (the first whose match holds),
the weighted random choice among its destinations, and resolving a destination's subset to a
workload through the DestinationRule's labels. Failures carry the status code and Envoy response
flag a real sidecar would report (404 NR: no route, 503 NC: unknown subset, 503 UH: no endpoint).
Randomness comes from the caller's `random.Random`, so tests can seed it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from controller.sandbox.mesh.virtualservice import (
    HttpRoute,
    MatchRequest,
    RoutingTable,
    WeightedDestination,
)


@dataclass(frozen=True)
class Workload:
    """One deployment behind the `reviews` service, known by its pod labels."""

    name: str
    labels: Mapping[str, str]

    @property
    def version(self) -> str:
        return self.labels.get("version", "unknown")


@dataclass(frozen=True)
class RequestContext:
    """What the router may match on. Header names must be lower-case."""

    uri: str = "/reviews/0"
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    source_labels: Mapping[str, str] = field(default_factory=dict)
    source_namespace: str = ""


@dataclass(frozen=True)
class RouteFailure:
    """A request the sidecar answers itself; `flag` is Envoy's %RESPONSE_FLAGS% value."""

    status: int
    flag: str
    reason: str


@dataclass(frozen=True)
class RouteDecision:
    """Either a workload to call or a failure; `route_index` is the http route that matched."""

    workload: Workload | None
    route_index: int | None
    failure: RouteFailure | None = None


def select_workload(
    table: RoutingTable,
    request: RequestContext,
    workloads: Sequence[Workload],
    rng: random.Random,
) -> RouteDecision:
    """Route one request: VirtualService if there is one, else the plain Service."""
    if table.routes is None:
        # No VirtualService: kube-proxy style spreading over every endpoint of the Service.
        return _pick_endpoint(list(workloads), None, rng)
    for index, route in enumerate(table.routes):
        if route_applies(route, request):
            return _follow_route(table, route, index, workloads, rng)
    return RouteDecision(None, None, RouteFailure(404, "NR", "no http route matched"))


def route_applies(route: HttpRoute, request: RequestContext) -> bool:
    """A route with no match applies to everything; otherwise any one match must hold."""
    return not route.matches or any(_match_holds(m, request) for m in route.matches)


def choose_destination(
    destinations: Sequence[WeightedDestination], rng: random.Random
) -> WeightedDestination | None:
    """Envoy's weighted-cluster pick: a uniform draw over the summed weights."""
    if not destinations:
        return None
    total = sum(d.weight for d in destinations)
    if total == 0:
        return rng.choice(list(destinations))
    draw = rng.random() * total
    for destination in destinations:
        if draw < destination.weight:
            return destination
        draw -= destination.weight
    return destinations[-1]


def is_service_host(host: str, service: str, namespace: str) -> bool:
    """True if `host` names `service` as a sidecar in `namespace` would resolve it."""
    accepted = {
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
    }
    return host in accepted


def _follow_route(
    table: RoutingTable,
    route: HttpRoute,
    index: int,
    workloads: Sequence[Workload],
    rng: random.Random,
) -> RouteDecision:
    destination = choose_destination(route.destinations, rng)
    if destination is None:
        return RouteDecision(None, index, RouteFailure(404, "NR", "route has no destination"))
    if not is_service_host(destination.host, "reviews", table.namespace):
        reason = f"host {destination.host!r} is not a service this sandbox runs"
        return RouteDecision(None, index, RouteFailure(503, "UH", reason))
    if destination.subset is None:
        return _pick_endpoint(list(workloads), index, rng)
    labels = table.subsets.get(destination.subset)
    if labels is None:
        reason = f"subset {destination.subset!r} is not defined in DestinationRule reviews"
        return RouteDecision(None, index, RouteFailure(503, "NC", reason))
    members = [w for w in workloads if all(w.labels.get(k) == v for k, v in labels.items())]
    return _pick_endpoint(members, index, rng)


def _pick_endpoint(members: list[Workload], index: int | None, rng: random.Random) -> RouteDecision:
    if not members:
        return RouteDecision(None, index, RouteFailure(503, "UH", "no workload has those labels"))
    return RouteDecision(rng.choice(members), index)


def _match_holds(match: MatchRequest, request: RequestContext) -> bool:
    path = request.uri.split("?", 1)[0]
    headers, query = request.headers, request.query
    return (
        (match.uri is None or match.uri.matches(path, ignore_case=match.ignore_uri_case))
        and (match.method is None or match.method.matches(request.method))
        and all(m.matches(headers.get(name)) for name, m in match.headers)
        and not any(m.matches(headers.get(name)) for name, m in match.without_headers)
        and all(m.matches(query.get(name)) for name, m in match.query_params)
        and all(request.source_labels.get(k) == v for k, v in match.source_labels)
        and match.source_namespace in (None, request.source_namespace)
    )
