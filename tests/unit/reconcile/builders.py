"""Builders for the reconcile tests: the bookinfo reviews shift (v1 -> v3) as cluster objects,
the dependencies a tick takes, a clock that only moves when told, and readers of the result.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from controller.api.gates import Gate
from controller.api.profile import GateProfile, GateProfileSpec, ProfileMetadata
from controller.api.status import TrafficShiftStatus
from controller.reconcile import Dependencies, TickOutcome, reconcile_once
from controller.rollout import Policy
from tests.unit.reconcile.fakes import DR, SHIFT, VS, FakeCluster, FakePrometheus

NAMESPACE = "bookinfo"
SHIFT_NAME = "reviews-v3"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CHECK_INTERVAL = timedelta(seconds=10)
STEPS = [10, 50, 100]
MANAGED_INDEX = 1  # http[0] is the header-matched route for the test user


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def default_profile() -> GateProfile:
    """Like config/gates/default.yaml: error-rate <= 1 (%), latency-p99 <= 500 (ms)."""
    return GateProfile(
        metadata=ProfileMetadata(name="default"),
        spec=GateProfileSpec(
            gates=[Gate(name="error-rate", max=1), Gate(name="latency-p99", max=500)]
        ),
    )


def shift_manifest(generation: int = 1, **spec: Any) -> dict[str, Any]:
    """The TrafficShift as stored: reviews v1 -> v3 in [10, 50, 100], 30s per step."""
    body: dict[str, Any] = {
        "virtualService": "reviews",
        "stable": "v1",
        "canary": "v3",
        "destinationRule": "reviews",
        "steps": list(STEPS),
        "interval": "30s",
        "analysis": {"judge": "threshold", "failureLimit": 2, "minRequests": 20, "window": "1m"},
        **spec,
    }
    return {
        "apiVersion": "weightgate.dev/v1alpha1",
        "kind": SHIFT,
        "metadata": {"name": SHIFT_NAME, "namespace": NAMESPACE, "generation": generation},
        "spec": body,
    }


def dest(subset: str, weight: int | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"destination": {"host": "reviews", "subset": subset}}
    if weight is not None:
        entry["weight"] = weight
    return entry


def virtual_service(*managed_route: dict[str, Any], extra_routes: int = 0) -> dict[str, Any]:
    """reviews: http[0] sends the test user to v2, http[1] (managed) defaults to all-v1."""
    http: list[dict[str, Any]] = [
        {
            "match": [{"headers": {"end-user": {"exact": "jason"}}}],
            "route": [dest("v2")],
        },
        {"route": list(managed_route) or [dest("v1")]},
    ]
    http += [{"route": [dest("v1")]} for _ in range(extra_routes)]
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": VS,
        "metadata": {"name": "reviews", "namespace": NAMESPACE},
        "spec": {"hosts": ["reviews"], "http": http},
    }


def destination_rule(*subsets: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": DR,
        "metadata": {"name": "reviews", "namespace": NAMESPACE},
        "spec": {
            "host": "reviews",
            "subsets": [
                {"name": s, "labels": {"version": s}} for s in subsets or ("v1", "v2", "v3")
            ],
        },
    }


def bookinfo_cluster(shift: dict[str, Any] | None = None) -> FakeCluster:
    cluster = FakeCluster()
    cluster.put(shift or shift_manifest())
    cluster.put(virtual_service())
    cluster.put(destination_rule())
    return cluster


def make_deps(
    cluster: FakeCluster,
    prometheus: FakePrometheus | None = None,
    *,
    policy: Policy | None = None,
) -> Dependencies:
    return Dependencies(
        cluster=cluster,
        prometheus=prometheus or FakePrometheus.healthy(),
        profiles={"default": default_profile()},
        policy=policy or Policy(),
        check_interval=CHECK_INTERVAL,
    )


def tick(deps: Dependencies, seconds: float) -> TickOutcome:
    return reconcile_once(deps, NAMESPACE, SHIFT_NAME, at(seconds))


def tick_until(
    deps: Dependencies,
    done: Callable[[TickOutcome], bool],
    *,
    start: float = 0,
    every: float = 10,
    limit: int = 60,
) -> tuple[TickOutcome, float]:
    """Tick every ``every`` seconds from ``start`` until ``done``; the outcome and its time."""
    seconds = start
    for _ in range(limit):
        outcome = tick(deps, seconds)
        if done(outcome):
            return outcome, seconds
        seconds += every
    raise AssertionError(f"not done after {limit} ticks (last: {outcome})")


def managed_route(cluster: FakeCluster) -> list[dict[str, Any]]:
    vs = cluster.stored(VS, NAMESPACE, "reviews")
    return copy.deepcopy(vs["spec"]["http"][MANAGED_INDEX]["route"])


def split(stable: int) -> list[dict[str, Any]]:
    """The two-destination managed route weightgate writes mid-shift (stable first)."""
    return [dest("v1", stable), dest("v3", 100 - stable)]


def set_managed_route(cluster: FakeCluster, route: list[dict[str, Any]]) -> None:
    """Someone else rewrites the managed route (a human, a GitOps tool)."""

    def change(vs: dict[str, Any]) -> None:
        vs["spec"]["http"][MANAGED_INDEX]["route"] = copy.deepcopy(route)

    cluster.edit(VS, NAMESPACE, "reviews", change)


def stored_status(cluster: FakeCluster) -> TrafficShiftStatus:
    raw = cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME).get("status") or {}
    return TrafficShiftStatus.model_validate(raw)


def status_writes(cluster: FakeCluster) -> list[TrafficShiftStatus]:
    return [
        TrafficShiftStatus.model_validate(call.detail)
        for call in cluster.calls_of("replace_shift_status")
    ]


@dataclass
class Clock:
    """Injected time for ``drive``: ``sleep`` moves it, nothing else does."""

    moment: datetime = T0
    slept: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return self.moment

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.moment += timedelta(seconds=seconds)
