"""Reading and writing the weights of the managed route: the two-way stable/canary split.

Every writer returns a deep copy of the spec in which only `spec.http[i].route` of the managed
route differs, so the rest of the VirtualService (other routes and their order, retries, timeout,
fault, mirror, headers, tcp/tls, unknown fields) is left exactly as the user wrote it.

Shapes written:
- `set_canary_weight` always writes two entries, stable first: `[stable w=100-x, canary w=x]`,
  also at 0 and 100. Istio accepts a zero weight, and keeping both entries keeps each one's
  `port`, `headers` and other fields across the whole shift.
- `promote` and `rollback` write the single-destination form with no `weight` key, exactly what
  Istio's own samples use for "all traffic to one subset".
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from controller.routing.errors import RoutingError
from controller.routing.model import (
    ManagedRoute,
    RouteEntry,
    Spec,
    managed_http_route,
    route_entries,
    same_host,
)

FULL = 100


def route_weights(vs_spec: Spec, managed: ManagedRoute) -> dict[str, int]:
    """Subset -> weight of the managed route.

    A single destination takes all traffic (Istio ignores its weight); several destinations must
    each carry a weight from 0 to 100, summing to 100.
    """
    return _weights_of(_entries_by_subset(vs_spec, managed), managed)


def read_canary_weight(vs_spec: Spec, managed: ManagedRoute, *, stable: str, canary: str) -> int:
    """The canary's percent of the managed route's traffic (0 when it only sends to stable)."""
    _, weights = _read_split(vs_spec, managed, stable=stable, canary=canary)
    return weights.get(canary, 0)


def set_canary_weight(
    vs_spec: Spec, managed: ManagedRoute, *, stable: str, canary: str, weight: int
) -> dict[str, Any]:
    """A copy of the spec whose managed route sends `weight`% to canary, the rest to stable."""
    check_weight(weight)
    by_subset, _ = _read_split(vs_spec, managed, stable=stable, canary=canary)
    stable_raw = by_subset[stable].raw if stable in by_subset else None
    canary_raw = by_subset[canary].raw if canary in by_subset else None
    stable_entry = _retarget(stable_raw or canary_raw, stable, managed.host)
    canary_entry = _retarget(canary_raw or stable_raw, canary, managed.host)
    stable_entry["weight"] = FULL - weight
    canary_entry["weight"] = weight
    return _with_route(vs_spec, managed, [stable_entry, canary_entry])


def promote(vs_spec: Spec, managed: ManagedRoute, *, canary: str) -> dict[str, Any]:
    """A copy of the spec whose managed route sends everything to canary (one entry, no weight).

    Like `rollback` it replaces whatever the route holds; call `read_canary_weight` first to
    refuse a route that is not a two-way split weightgate manages.
    """
    return _with_route(vs_spec, managed, [_sole_destination(vs_spec, managed, canary)])


def rollback(vs_spec: Spec, managed: ManagedRoute, *, stable: str) -> dict[str, Any]:
    """A copy of the spec whose managed route sends everything to stable (one entry, no weight).

    Deliberately lenient: whatever the route holds (odd weights, a third subset, a broken entry)
    is replaced, because a rollback must not be refused. It still refuses to write when the route
    at `managed.index` is no longer the managed one.
    """
    return _with_route(vs_spec, managed, [_sole_destination(vs_spec, managed, stable)])


def check_weight(weight: object) -> int:
    """`weight` if it is a whole percent 0..100, else a RoutingError."""
    if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= FULL:
        raise RoutingError(
            f"the canary weight {weight!r} is not a whole percent from 0 to 100",
            obj="TrafficShift",
            path="spec.steps",
            fix="use integer weights from 0 to 100",
        )
    return weight


def _read_split(
    vs_spec: Spec, managed: ManagedRoute, *, stable: str, canary: str
) -> tuple[dict[str, RouteEntry], dict[str, int]]:
    """The managed route's entries and weights by subset, checked to be a stable/canary split."""
    by_subset = _entries_by_subset(vs_spec, managed)
    _check_two_way(list(by_subset), managed, stable=stable, canary=canary)
    return by_subset, _weights_of(by_subset, managed)


def _weights_of(by_subset: Mapping[str, RouteEntry], managed: ManagedRoute) -> dict[str, int]:
    if len(by_subset) == 1:
        return dict.fromkeys(by_subset, FULL)
    _check_weights(list(by_subset.values()), f"{managed.path}.route")
    return {subset: _weight(entry) for subset, entry in by_subset.items()}


def _entries_by_subset(vs_spec: Spec, managed: ManagedRoute) -> dict[str, RouteEntry]:
    """The managed route's entries keyed by subset; all to the managed host, each subset once."""
    seen: dict[str, RouteEntry] = {}
    for entry in route_entries(vs_spec, managed):
        if not same_host(entry.host, managed.host):
            raise RoutingError(
                f"the managed route also sends to host {entry.host!r}; weightgate only splits "
                f"traffic between two subsets of {managed.host!r}",
                path=f"{entry.path}.destination.host",
                fix="move that destination to an http route of its own before the shift",
            )
        if entry.subset is None:
            raise RoutingError(
                f"the destination to {entry.host!r} has no subset",
                path=f"{entry.path}.destination.subset",
                fix="route to a DestinationRule subset (e.g. the stable one) so weightgate can "
                "tell stable from canary",
            )
        if entry.subset in seen:
            raise RoutingError(
                f"subset {entry.subset!r} appears twice (also at {seen[entry.subset].path})",
                path=f"{entry.path}.destination.subset",
                fix="merge the two entries into one",
            )
        seen[entry.subset] = entry
    return seen


def _check_weights(entries: list[RouteEntry], path: str) -> None:
    unweighted = [entry.path for entry in entries if entry.weight is None]
    if unweighted:
        raise RoutingError(
            f"the route has {len(entries)} destinations but these have no weight: "
            f"{', '.join(unweighted)}; Istio needs a weight on each, summing to 100",
            path=path,
            fix="set a weight on every destination so that they sum to 100",
        )
    for entry in entries:
        if not 0 <= _weight(entry) <= FULL:
            raise RoutingError(
                f"the weight {entry.weight} is outside 0..100",
                path=f"{entry.path}.weight",
                fix="set weights from 0 to 100 that sum to 100",
            )
    total = sum(_weight(entry) for entry in entries)
    if total != FULL:
        raise RoutingError(
            f"the weights sum to {total}, not 100",
            path=path,
            fix="set the weights so that they sum to 100",
        )


def _check_two_way(subsets: list[str], managed: ManagedRoute, *, stable: str, canary: str) -> None:
    path = f"{managed.path}.route"
    if stable not in subsets and canary not in subsets:
        raise RoutingError(
            f"the managed route sends to subset(s) {', '.join(subsets)} of {managed.host!r}, "
            f"neither the stable subset {stable!r} nor the canary subset {canary!r}",
            path=path,
            fix="set spec.stable in the TrafficShift to the subset this route sends to, or "
            "spec.route to a route that sends to the stable subset",
        )
    others = [subset for subset in subsets if subset not in (stable, canary)]
    if others:
        raise RoutingError(
            f"the managed route also sends to subset(s) {', '.join(others)}; weightgate only "
            f"manages a two-way split between {stable!r} and {canary!r}",
            path=path,
            fix=f"move that traffic onto {stable!r} (or into an http route with its own "
            "`match`) before starting the shift",
        )


def _sole_destination(vs_spec: Spec, managed: ManagedRoute, subset: str) -> dict[str, Any]:
    http_route = managed_http_route(vs_spec, managed)
    template = _lenient_template(http_route.get("route"), managed.host, subset)
    entry = _retarget(template, subset, managed.host)
    entry.pop("weight", None)
    return entry


def _lenient_template(raw_entries: object, host: str, subset: str) -> Mapping[str, Any] | None:
    """The entry to keep: the one for `subset`, else any to the host, else none (a new one)."""
    if not isinstance(raw_entries, list):
        return None
    to_host = [
        entry
        for entry in raw_entries
        if isinstance(entry, Mapping)
        and isinstance(entry.get("destination"), Mapping)
        and same_host(host, str(entry["destination"].get("host", "")))
    ]
    exact = [entry for entry in to_host if entry["destination"].get("subset") == subset]
    return next(iter(exact or to_host), None)


def _retarget(template: Mapping[str, Any] | None, subset: str, host: str) -> dict[str, Any]:
    """A deep copy of a route entry pointed at `subset`; keeps `port`, `headers` and the rest.

    With no entry to copy (a rollback of a route broken beyond reading) a bare one is made.
    """
    if template is None:
        return {"destination": {"host": host, "subset": subset}}
    entry = copy.deepcopy(dict(template))
    entry["destination"] = {**entry["destination"], "subset": subset}
    return entry


def _with_route(
    vs_spec: Spec, managed: ManagedRoute, entries: list[dict[str, Any]]
) -> dict[str, Any]:
    new_spec = copy.deepcopy(dict(vs_spec))
    new_spec["http"][managed.index]["route"] = entries
    return new_spec


def _weight(entry: RouteEntry) -> int:
    return entry.weight if entry.weight is not None else 0
