"""Writing the managed route and proving it took: guarded JSON patch, then an independent read.

The patch carries the resourceVersion it was computed from (a concurrent writer makes it 409)
and a ``test`` of the old route (so it can only replace what we read). After the write the
VirtualService is read again and the managed route's weights compared with what we meant: a
write that silently did nothing is caught here, retried, and then reported - never recorded as
progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controller.api.trafficshift import TrafficShiftSpec
from controller.kube.errors import ConflictError, InvalidError
from controller.reconcile.ports import Cluster
from controller.rollout import Action
from controller.routing import (
    ManagedRoute,
    RoutingError,
    find_managed_route,
    promote,
    rollback,
    route_patch,
    route_weights,
    set_canary_weight,
)
from controller.routing.ownership import claim, release

WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class WriteResult:
    confirmed: bool
    attempts: int
    message: str = ""


def desired_spec(
    vs_spec: dict[str, Any],
    managed: ManagedRoute,
    spec: TrafficShiftSpec,
    action: Action,
    weight: int,
) -> dict[str, Any]:
    """The VirtualService spec after ``action`` on the managed route (nothing else changes)."""
    if action is Action.PROMOTE:
        return promote(vs_spec, managed, canary=spec.canary)
    if action is Action.ROLLBACK:
        return rollback(vs_spec, managed, stable=spec.stable)
    return set_canary_weight(
        vs_spec, managed, stable=spec.stable, canary=spec.canary, weight=weight
    )


def route_matches(vs_spec: dict[str, Any], wanted: dict[str, Any], managed: ManagedRoute) -> bool:
    """Whether the managed route of ``vs_spec`` sends traffic as ``wanted``'s does."""
    try:
        return route_weights(vs_spec, managed) == route_weights(wanted, managed)
    except RoutingError:
        return False


def write_route(
    cluster: Cluster,
    namespace: str,
    spec: TrafficShiftSpec,
    action: Action,
    weight: int,
    *,
    observed: dict[str, Any],
    shift: str,
) -> WriteResult:
    """Apply ``action`` to the VirtualService as ``observed`` by this tick, and confirm it by
    reading it back.

    The patch is computed from what the tick decided on, never from a newer read: if someone
    changed the managed route's weights since (our precondition fails), nothing is written and
    the next tick sees their weights as drift. Changes elsewhere in the object (another route,
    metadata) are not ours to judge: the patch is recomputed on the new read and retried.

    The same patch claims the route for `shift` (a weight) or releases its claim (promote,
    rollback) in the owners record (``routing.ownership``), so record and route move together.
    """
    vs = observed
    last_problem = ""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        vs_spec = vs.get("spec") or {}
        try:
            managed = find_managed_route(
                vs_spec, stable=spec.stable, canary=spec.canary, host=spec.host, route=spec.route
            )
            wanted = desired_spec(vs_spec, managed, spec, action, weight)
        except RoutingError as exc:
            return WriteResult(False, attempt, f"cannot compute the new route: {exc}")
        final = action in (Action.PROMOTE, Action.ROLLBACK)
        ownership = release(vs, managed, shift) if final else claim(vs, managed, shift)
        if wanted != vs_spec or ownership:
            operations = [
                {
                    "op": "replace",
                    "path": "/metadata/resourceVersion",
                    "value": vs["metadata"]["resourceVersion"],
                },
                *(route_patch(vs_spec, wanted, managed) if wanted != vs_spec else []),
                *ownership,
            ]
            try:
                cluster.patch_virtual_service(namespace, spec.virtual_service, operations)
            except (ConflictError, InvalidError) as exc:
                last_problem = str(exc)
                fresh = cluster.get_virtual_service(namespace, spec.virtual_service)
                if not route_matches(fresh.get("spec") or {}, vs_spec, managed):
                    return WriteResult(
                        False,
                        attempt,
                        f"the managed route of VirtualService {namespace}/{spec.virtual_service} "
                        f"changed to {_weights_text(fresh, managed)} while this tick ran; not "
                        "overwriting it",
                    )
                vs = fresh
                continue
        after = cluster.get_virtual_service(namespace, spec.virtual_service)
        if route_matches(after.get("spec") or {}, wanted, managed):
            return WriteResult(True, attempt)
        last_problem = (
            f"read-back of VirtualService {namespace}/{spec.virtual_service} shows "
            f"{_weights_text(after, managed)} after writing "
            f"{_weights_text({'spec': wanted}, managed)}"
        )
        vs = after
    return WriteResult(False, WRITE_ATTEMPTS, last_problem)


def _weights_text(vs: dict[str, Any], managed: ManagedRoute) -> str:
    try:
        weights = route_weights(vs.get("spec") or {}, managed)
    except RoutingError as exc:
        return f"an unreadable route ({exc})"
    return ", ".join(f"{subset} {weight}%" for subset, weight in weights.items())
