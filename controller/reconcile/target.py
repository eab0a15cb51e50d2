"""Resolving a TrafficShift against the cluster: its model, gates, managed route, telemetry
selectors and live weight, or the reason it is Invalid.

A shift is Invalid when its spec, the objects it names, or their shape make a safe shift
impossible; the message says what to fix. Invalid shifts never touch the VirtualService. API
outages are not invalidity: they propagate as ``KubeError`` and the tick is retried later.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from controller.analysis.selectors import SelectorError, SubsetSelectors, shift_selectors
from controller.analysis.templates import ShiftVariables
from controller.api.documents import GateResolutionError, resolve_gates
from controller.api.gates import Gate
from controller.api.problems import problems_from
from controller.api.profile import GateProfile
from controller.api.status import Phase, TrafficShiftStatus
from controller.api.trafficshift import TrafficShift, TrafficShiftSpec
from controller.kube.errors import NotFoundError
from controller.reconcile.ports import Cluster, Reads
from controller.routing import (
    ManagedRoute,
    RoutingError,
    check_subsets,
    find_managed_route,
    read_canary_weight,
    subset_labels,
)
from controller.routing.ownership import owner_of


class InvalidShiftError(Exception):
    """The shift cannot be run as written; ``str(error)`` says what to fix."""


@dataclass(frozen=True)
class Target:
    """A shift resolved against the live cluster for one tick."""

    obj: dict[str, Any]
    shift: TrafficShift
    status: TrafficShiftStatus | None
    generation: int
    gates: list[Gate]
    virtual_service: dict[str, Any]
    managed: ManagedRoute
    selectors: SubsetSelectors
    variables: ShiftVariables
    live_weight: int

    @property
    def namespace(self) -> str:
        return str(self.obj["metadata"]["namespace"])

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])


def read_status(obj: dict[str, Any]) -> TrafficShiftStatus | None:
    raw = obj.get("status")
    if not raw:
        return None
    try:
        return TrafficShiftStatus.model_validate(raw)
    except ValidationError as exc:
        # Never guess: a status we cannot read could make us restart or skip a step.
        raise InvalidShiftError(
            f"status is unreadable ({exc.error_count()} problem(s), first: "
            f"{exc.errors()[0]['msg']}): this controller will not guess where the shift is; "
            "check which controller version wrote it, or clear .status to start over"
        ) from exc


def parse_shift(obj: dict[str, Any]) -> TrafficShift:
    try:
        return TrafficShift.model_validate({k: v for k, v in obj.items() if k != "status"})
    except ValidationError as exc:
        problems = problems_from(exc, TrafficShift, source="TrafficShift", document=1)
        raise InvalidShiftError("; ".join(f"{p.path}: {p.message}" for p in problems)) from exc


def _subset_labels(
    cluster: Cluster, shift: TrafficShift, namespace: str
) -> Mapping[str, Mapping[str, str]]:
    spec = shift.spec
    if spec.destination_rule is None:
        return {}
    try:
        rule = cluster.get_destination_rule(namespace, spec.destination_rule)
    except NotFoundError as exc:
        raise InvalidShiftError(
            f"DestinationRule {namespace}/{spec.destination_rule} not found: create it, or fix "
            "or remove spec.destinationRule"
        ) from exc
    rule_spec = rule.get("spec") or {}
    check_subsets(rule_spec, [spec.stable, spec.canary], dr_name=spec.destination_rule)
    return {
        subset: subset_labels(rule_spec, subset, dr_name=spec.destination_rule)
        for subset in (spec.stable, spec.canary)
    }


# An owner in one of these phases has let go of its route (a promote or rollback releases the
# claim in the same write; this covers a claim left by an older version or a crash).
_RELEASED_PHASES = frozenset({Phase.PROMOTED.value, Phase.ROLLED_BACK.value})


def _refuse_if_owned(
    cluster: Reads,
    meta: Mapping[str, Any],
    spec: TrafficShiftSpec,
    vs: dict[str, Any],
    managed: ManagedRoute,
) -> None:
    """InvalidShiftError when another TrafficShift that is still active manages the route. A
    claim by a shift that is gone, promoted or rolled back is stale: the route is free. An
    Invalid owner still holds it (its canary may still have traffic, and it resumes once
    fixed)."""
    namespace, name = str(meta["namespace"]), str(meta["name"])
    owner = owner_of(vs, managed)
    if owner is None or owner == name:
        return
    try:
        other = cluster.get_shift(namespace, owner)
    except NotFoundError:
        return
    phase = (other.get("status") or {}).get("phase")
    if phase in _RELEASED_PHASES:
        return
    raise InvalidShiftError(
        f"{managed.describe()} of VirtualService {namespace}/{spec.virtual_service} is managed by "
        f"TrafficShift {owner} (phase {phase or 'not started'}); one active TrafficShift per "
        f"route: wait for {owner} to finish, or delete it, and this shift starts by itself. "
        "Nothing was written"
    )


def _check_custom_queries(
    spec: TrafficShiftSpec, namespace: str, allowed: frozenset[str] | None
) -> None:
    """InvalidShiftError when the shift carries its own PromQL where the controller's settings
    do not allow it (custom queries run with the controller's access to Prometheus)."""
    if allowed is None or namespace in allowed:
        return
    custom = [g.name for g in spec.analysis.gates if g.query is not None or g.is_count]
    if not custom:
        return
    listed = ", ".join(sorted(allowed)) or "none"
    raise InvalidShiftError(
        f"gate(s) {', '.join(custom)} in spec.analysis.gates carry their own PromQL, which this "
        f"controller runs only for TrafficShifts in the namespaces {listed} (setting "
        "custom_query_namespaces): custom queries run with the controller's access to "
        "Prometheus. Use builtin gates or a gate profile, or ask the controller's operator to "
        f"list namespace {namespace}"
    )


def resolve(
    cluster: Cluster,
    obj: dict[str, Any],
    profiles: Mapping[str, GateProfile],
    *,
    custom_namespaces: frozenset[str] | None = None,
) -> Target:
    """The shift's Target, or InvalidShiftError saying what to fix."""
    namespace = str(obj["metadata"]["namespace"])
    status = read_status(obj)
    shift = parse_shift(obj)
    spec = shift.spec
    _check_custom_queries(spec, namespace, custom_namespaces)
    try:
        gates = resolve_gates(spec, profiles)
    except GateResolutionError as exc:
        raise InvalidShiftError(str(exc)) from exc
    try:
        vs = cluster.get_virtual_service(namespace, spec.virtual_service)
    except NotFoundError as exc:
        raise InvalidShiftError(
            f"VirtualService {namespace}/{spec.virtual_service} not found: create it, or fix "
            "spec.virtualService"
        ) from exc
    vs_spec = vs.get("spec") or {}
    try:
        managed = find_managed_route(
            vs_spec, stable=spec.stable, canary=spec.canary, host=spec.host, route=spec.route
        )
        labels = _subset_labels(cluster, shift, namespace)
        _refuse_if_owned(cluster, obj["metadata"], spec, vs, managed)
        live = read_canary_weight(vs_spec, managed, stable=spec.stable, canary=spec.canary)
        selectors = shift_selectors(
            spec, namespace=namespace, host=managed.host, subset_labels=labels
        )
        variables = ShiftVariables(namespace=namespace, virtual_service=spec.virtual_service)
    except (RoutingError, SelectorError) as exc:
        raise InvalidShiftError(str(exc)) from exc
    return Target(
        obj=obj,
        shift=shift,
        status=status,
        generation=int(obj["metadata"].get("generation") or 1),
        gates=gates,
        virtual_service=vs,
        managed=managed,
        selectors=selectors,
        variables=variables,
        live_weight=live,
    )


def _version(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class TargetMemo:
    """Resolved Targets, reused while the shift, its VirtualService and its DestinationRule
    keep their resourceVersions (parsing and route finding are most of a quiet tick's cost).

    Only for a cluster that reads from a watch cache: it reads the VirtualService and the
    DestinationRule once more per tick to learn their versions, which costs nothing there.
    """

    def __init__(self) -> None:
        self._memo: dict[tuple[str, str], tuple[tuple[str, ...], Target]] = {}
        self._quiet: dict[tuple[str, str], Target] = {}
        self._lock = threading.Lock()

    def resolve(
        self,
        cluster: Cluster,
        obj: dict[str, Any],
        profiles: Mapping[str, GateProfile],
        *,
        custom_namespaces: frozenset[str] | None = None,
    ) -> Target:
        versions = self._versions(cluster, obj)
        shift = (str(obj["metadata"]["namespace"]), str(obj["metadata"]["name"]))
        with self._lock:
            found = self._memo.get(shift)
        if versions is not None and found is not None and found[0] == versions:
            return found[1]
        target = resolve(cluster, obj, profiles, custom_namespaces=custom_namespaces)
        if versions is not None:
            with self._lock:
                self._memo[shift] = (versions, target)
        return target

    def peek(self, cluster: Reads, obj: dict[str, Any]) -> Target | None:
        """The memoized Target when its objects still have the same versions; never resolves."""
        versions = self._versions(cluster, obj)
        shift = (str(obj["metadata"]["namespace"]), str(obj["metadata"]["name"]))
        with self._lock:
            found = self._memo.get(shift)
        if versions is None or found is None or found[0] != versions:
            return None
        return found[1]

    def forget(self, namespace: str, name: str) -> None:
        with self._lock:
            self._memo.pop((namespace, name), None)
            self._quiet.pop((namespace, name), None)

    def mark_quiet(self, target: Target, quiet: bool) -> None:
        """Record whether a tick of `target` ended with nothing left to do (see `is_quiet`)."""
        key = (target.namespace, target.name)
        with self._lock:
            if quiet:
                self._quiet[key] = target
            else:
                self._quiet.pop(key, None)

    def is_quiet(self, target: Target) -> bool:
        """Whether the last tick of this very Target (the same objects at the same versions: a
        memo hit) ended quiet."""
        with self._lock:
            return self._quiet.get((target.namespace, target.name)) is target

    @staticmethod
    def _versions(cluster: Reads, obj: dict[str, Any]) -> tuple[str, ...] | None:
        """The versions a Target depends on; None when the raw spec cannot name them (the full
        resolve then says what is wrong) or an object is missing."""
        spec = obj.get("spec")
        namespace = str(obj["metadata"]["namespace"])
        if not isinstance(spec, dict) or not isinstance(spec.get("virtualService"), str):
            return None
        rule = spec.get("destinationRule")
        try:
            versions = [
                _version(obj),
                _version(cluster.get_virtual_service(namespace, spec["virtualService"])),
            ]
            if isinstance(rule, str):
                versions.append(_version(cluster.get_destination_rule(namespace, rule)))
        except NotFoundError:
            return None
        return tuple(versions)
