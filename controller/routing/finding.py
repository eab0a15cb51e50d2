"""Finding the one http route of a VirtualService that a TrafficShift manages.

The rule: `spec.route` in the TrafficShift names the route; without it, the managed route is the
one http route without `match` that sends the host to the stable or canary subset (mid-shift it
sends to both, after promotion only to canary). The route found is then checked in full (a
two-way split, weights that Istio accepts) and against rivals: another route with the same
`match` that already sends to the canary would make ownership of the canary traffic ambiguous.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controller.routing.errors import RoutingError
from controller.routing.model import (
    ManagedRoute,
    Spec,
    describe_route,
    http_path,
    http_routes,
    match_of,
    route_name,
    sends_to,
    subsets_to,
)
from controller.routing.weights import read_canary_weight


def find_managed_route(
    vs_spec: Spec,
    *,
    stable: str,
    canary: str,
    host: str | None = None,
    route: str | None = None,
) -> ManagedRoute:
    """The managed route of `vs_spec`, or a RoutingError saying what to set to pick one."""
    _check_subset_names(stable, canary)
    target_host = host if host is not None else _default_host(vs_spec)
    http = http_routes(vs_spec)
    if route is not None:
        index = _named_route(http, route)
    else:
        index = _unmatched_route(http, target_host, stable, canary, host_defaulted=host is None)
    managed = ManagedRoute(index=index, name=route_name(http[index]), host=target_host)
    read_canary_weight(vs_spec, managed, stable=stable, canary=canary)
    _check_no_rival(http, managed, canary)
    return managed


def _check_subset_names(stable: str, canary: str) -> None:
    if not stable or not canary or stable == canary:
        raise RoutingError(
            f"the stable subset {stable!r} and canary subset {canary!r} must be two different, "
            "non-empty subset names",
            obj="TrafficShift",
            path="spec.stable/spec.canary",
            fix="set spec.stable and spec.canary to two subsets of the DestinationRule",
        )


def _default_host(vs_spec: Spec) -> str:
    hosts = vs_spec.get("hosts")
    if not isinstance(hosts, list) or not hosts or not isinstance(hosts[0], str):
        raise RoutingError(
            "the VirtualService lists no hosts to take the managed host from",
            path="spec.hosts",
            fix="set spec.host in the TrafficShift to the destination host to shift",
        )
    return hosts[0]


def _named_route(http: Sequence[Mapping[str, Any]], route: str) -> int:
    found = [index for index, http_route in enumerate(http) if route_name(http_route) == route]
    if len(found) == 1:
        return found[0]
    if found:
        raise RoutingError(
            f"{len(found)} http routes are named {route!r}: "
            + ", ".join(http_path(index) for index in found),
            path="spec.http[*].name",
            fix="give the http routes unique names in the VirtualService",
        )
    names = [name for name in map(route_name, http) if name is not None]
    fix = (
        f"set spec.route in the TrafficShift to one of: {', '.join(map(repr, names))}"
        if names
        else "name the http route to manage in the VirtualService and set spec.route in the "
        "TrafficShift to that name, or unset spec.route to manage the route without `match`"
    )
    raise RoutingError(f"no http route is named {route!r}", path="spec.http[*].name", fix=fix)


def _unmatched_route(
    http: Sequence[Mapping[str, Any]],
    host: str,
    stable: str,
    canary: str,
    *,
    host_defaulted: bool,
) -> int:
    candidates = [
        index
        for index, http_route in enumerate(http)
        if not match_of(http_route) and sends_to(http_route, host, (stable, canary))
    ]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise RoutingError(
            f"{len(candidates)} http routes without `match` send {host!r} to subset "
            f"{stable!r} or {canary!r}: "
            + ", ".join(describe_route(index, route_name(http[index])) for index in candidates),
            path="spec.http",
            fix=_pick_one_fix(http, candidates),
        )
    raise RoutingError(
        f"no http route without `match` sends {host!r} to subset {stable!r} or {canary!r}"
        + _routes_to_host(http, host),
        path="spec.http",
        fix=_none_found_fix(host, host_defaulted=host_defaulted),
    )


def _pick_one_fix(http: Sequence[Mapping[str, Any]], candidates: list[int]) -> str:
    names = [name for name in (route_name(http[index]) for index in candidates) if name]
    fix = "set spec.route in the TrafficShift to the name of the route to manage"
    if names:
        fix = f"set spec.route in the TrafficShift to one of: {', '.join(map(repr, names))}"
    if len(names) < len(candidates):
        fix += " (give the unnamed routes a `name` in the VirtualService first)"
    return fix


def _none_found_fix(host: str, *, host_defaulted: bool) -> str:
    fix = (
        "set spec.route in the TrafficShift to the name of the http route to manage, or set "
        "spec.stable to the subset that route sends to"
    )
    if host_defaulted:
        fix = (
            f"the host {host!r} was taken from spec.hosts[0]: set spec.host in the TrafficShift "
            "if the route sends to another host; or " + fix
        )
    return fix


def _routes_to_host(http: Sequence[Mapping[str, Any]], host: str) -> str:
    seen = [
        f"{describe_route(index, route_name(http_route))}"
        f"{' with match' if match_of(http_route) else ''} -> {', '.join(subsets)}"
        for index, http_route in enumerate(http)
        if (subsets := subsets_to(http_route, host))
    ]
    return f"; routes to that host: {'; '.join(seen)}" if seen else "; no route sends to it"


def _check_no_rival(http: Sequence[Mapping[str, Any]], managed: ManagedRoute, canary: str) -> None:
    match = match_of(http[managed.index])
    for index, http_route in enumerate(http):
        if index == managed.index or match_of(http_route) != match:
            continue
        if sends_to(http_route, managed.host, (canary,)):
            raise RoutingError(
                f"{describe_route(index, route_name(http_route))} has the same `match` as the "
                f"managed route {managed.describe()} and already sends to the canary subset "
                f"{canary!r}: it is unclear which route owns the canary traffic",
                path=http_path(index),
                fix=f"remove {http_path(index)} or merge it into {managed.path}, or give the two "
                "routes different matches",
            )
