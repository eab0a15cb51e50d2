"""`weightgate controller` on the sandbox: drives several shifts at once, survives failing
ticks, resumes after SIGKILL at the recorded step, drops a deleted shift's job, and stops on
SIGTERM with exit 0."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import yaml

from controller.api.trafficshift import FINALIZER
from controller.routing.ownership import OWNERS_ANNOTATION
from controller.sandbox.apiserver.admin import inject_fault
from controller.sandbox.stack import SandboxInfo
from tests.integration.daemon.daemon_process import (
    SECOND_ROUTE,
    TEST_LABEL,
    TEST_LABEL_VALUE,
    DaemonProcess,
    apply,
    kubectl,
    route_of,
    status_of,
    wait_for_phase,
)
from tests.integration.sandbox_fixtures import poll

PROMOTION_TIMEOUT = 60.0
STEP_REASONS = ("ShiftStarted", "StepAdvanced", "Promoted")


def traffic_shift(
    name: str,
    *,
    interval: str = "4s",
    route: str = "reviews",
    target: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A two-step (50%, 100%) v1 -> v3 shift with test-sized interval and window."""
    analysis: dict[str, Any] = {"window": "10s", "minRequests": 5}
    if target:
        analysis["target"] = target
    return {
        "apiVersion": "weightgate.dev/v1alpha1",
        "kind": "TrafficShift",
        "metadata": {"name": name, "labels": {TEST_LABEL: TEST_LABEL_VALUE}},
        "spec": {
            "virtualService": route,
            "destinationRule": route,
            "stable": "v1",
            "canary": "v3",
            "steps": [50, 100],
            "interval": interval,
            "analysis": analysis,
        },
    }


def second_route(namespace: str) -> list[dict[str, Any]]:
    """A route of its own for a second shift: `ratings` v1 -> v3. The mesh only serves
    reviews, so that shift's gates read reviews' telemetry (analysis.target.service)."""
    group = "networking.istio.io/v1"
    meta = {"name": SECOND_ROUTE, "namespace": namespace}
    return [
        {
            "apiVersion": group,
            "kind": "DestinationRule",
            "metadata": meta,
            "spec": {
                "host": SECOND_ROUTE,
                "subsets": [{"name": v, "labels": {"version": v}} for v in ("v1", "v3")],
            },
        },
        {
            "apiVersion": group,
            "kind": "VirtualService",
            "metadata": meta,
            "spec": {
                "hosts": [SECOND_ROUTE],
                "http": [{"route": [{"destination": {"host": SECOND_ROUTE, "subset": "v1"}}]}],
            },
        },
    ]


def create(info: SandboxInfo, *objects: dict[str, Any]) -> None:
    """`kubectl create` (a POST only: `apply` would GET the object first)."""
    kubectl(info, "create", "-f", "-", stdin=yaml.safe_dump_all(objects))


def at_step_one(info: SandboxInfo, name: str) -> dict[str, Any]:
    return poll(
        f"{name} to record step 1",
        lambda: (s := status_of(info, name)).get("currentStep") == 1 and s,
        20.0,
        every=0.1,
    )


def subsets(route: list[dict[str, Any]]) -> list[str]:
    return [d["destination"]["subset"] for d in route]


def steps_taken(history: list[dict[str, Any]]) -> list[tuple[datetime, int, str]]:
    return [
        (datetime.fromisoformat(entry["time"]), entry["step"], entry["reason"])
        for entry in history
        if entry["reason"] in STEP_REASONS
    ]


def test_two_shifts_are_promoted_side_by_side_and_a_failing_tick_is_retried(
    start_daemon: Callable[[], DaemonProcess], clean_sandbox: SandboxInfo
) -> None:
    info = clean_sandbox
    daemon = start_daemon()
    apply(info, *second_route(info.namespace))
    # The first three status writes of reviews-a fail as if the API server were overloaded
    # (writes, because with the watch cache a tick reads nothing from the API).
    inject_fault(
        info.api,
        verb="update",
        resource="trafficshifts/status",
        name="reviews-a",
        status=503,
        count=3,
    )
    create(
        info,
        traffic_shift("reviews-a"),
        traffic_shift("ratings-b", route=SECOND_ROUTE, target={"service": "reviews"}),
    )
    failed = daemon.wait_for("tick.failed", shift="reviews-a")
    assert failed["namespace"] == info.namespace
    assert "503" in failed["error"]
    daemon.wait_for("tick.recovered", shift="reviews-a")
    for name in ("reviews-a", "ratings-b"):
        wait_for_phase(info, name, "Promoted", PROMOTION_TIMEOUT)
        daemon.wait_for("job.removed", shift=name, reason="phase Promoted")
    assert subsets(route_of(info, "reviews")) == ["v3"]
    assert subsets(route_of(info, SECOND_ROUTE)) == ["v3"]
    assert not daemon.find("tick.failed", shift="ratings-b")
    assert daemon.running


def test_a_controller_killed_mid_step_resumes_without_skipping_repeating_or_hurrying_a_step(
    start_daemon: Callable[[], DaemonProcess], clean_sandbox: SandboxInfo
) -> None:
    info, name, interval = clean_sandbox, "reviews-restart", 6
    first = start_daemon()
    create(info, traffic_shift(name, interval=f"{interval}s"))
    at_step_one(info, name)
    first.kill()
    killed_at = status_of(info, name)
    assert (killed_at["currentStep"], killed_at["canaryWeight"]) == (1, 50)
    assert killed_at["phase"] in ("Progressing", "Holding")

    second = start_daemon()
    assert second.wait_for("job.added", shift=name)["phase"] in ("Progressing", "Holding")
    status = wait_for_phase(info, name, "Promoted", PROMOTION_TIMEOUT)
    second.wait_for("shift.transition", shift=name, reason="StepAdvanced")

    taken = steps_taken(status["history"])
    assert [(step, reason) for _, step, reason in taken] == [
        (1, "ShiftStarted"),
        (2, "StepAdvanced"),
        (2, "Promoted"),
    ]
    recorded_steps = [entry["step"] for entry in status["history"]]
    assert recorded_steps == sorted(recorded_steps)
    for (before, *_), (after, *_) in pairwise(taken):
        assert after - before >= timedelta(seconds=interval)


def test_deleting_a_running_shift_rolls_its_route_back_and_the_controller_carries_on(
    start_daemon: Callable[[], DaemonProcess], clean_sandbox: SandboxInfo
) -> None:
    info = clean_sandbox
    daemon = start_daemon()
    create(info, traffic_shift("reviews-deleted", interval="30s"))
    started = at_step_one(info, "reviews-deleted")
    assert [d.get("weight") for d in route_of(info, "reviews")] == [50, 50]
    listed = json.loads(
        kubectl(info, "get", "trafficshift", "reviews-deleted", "-o", "json").stdout
    )
    assert listed["metadata"]["finalizers"] == [FINALIZER]
    assert started["phase"] in ("Progressing", "Holding")

    # kubectl waits until the object is gone: the controller rolls back, then lets it go.
    kubectl(info, "delete", "trafficshift", "reviews-deleted")
    assert subsets(route_of(info, "reviews")) == ["v1"]
    daemon.wait_for("job.removed", shift="reviews-deleted", reason="deleted")
    events = json.loads(
        kubectl(
            info,
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=reviews-deleted",
            "-o",
            "json",
        ).stdout
    )["items"]
    rolled = [e for e in events if e["reason"] == "RolledBackOnDelete"]
    assert rolled, [e["reason"] for e in events]
    assert rolled[0]["type"] == "Warning"
    assert "spec.onDelete: rollback" in rolled[0]["message"]
    vs = json.loads(kubectl(info, "get", "virtualservice", "reviews", "-o", "json").stdout)
    assert OWNERS_ANNOTATION not in (vs["metadata"].get("annotations") or {})

    create(info, traffic_shift("reviews-after", interval="30s"))
    at_step_one(info, "reviews-after")
    assert daemon.running
    assert not daemon.find("tick.failed", shift="reviews-after")


def test_a_shift_invalid_for_a_missing_route_starts_when_the_route_is_created(
    start_daemon: Callable[[], DaemonProcess], clean_sandbox: SandboxInfo
) -> None:
    info = clean_sandbox
    daemon = start_daemon()
    create(info, traffic_shift("ratings-early", route=SECOND_ROUTE, target={"service": "reviews"}))
    invalid = wait_for_phase(info, "ratings-early", "Invalid", 20.0)
    assert f"VirtualService {info.namespace}/{SECOND_ROUTE} not found" in invalid["message"]
    daemon.wait_for("job.removed", shift="ratings-early")

    # Nothing in the shift's spec changes: the route appearing is what brings it back.
    apply(info, *second_route(info.namespace))
    started = at_step_one(info, "ratings-early")
    assert started["phase"] in ("Progressing", "Holding")
    assert subsets(route_of(info, SECOND_ROUTE)) == ["v1", "v3"]
    assert not [c for c in started["conditions"] if c["type"] == "Valid" and c["status"] != "True"]
    woken = daemon.find("job.added", shift="ratings-early")
    assert any(str(r.get("reason", "")).endswith(f"/{SECOND_ROUTE} changed") for r in woken)


def test_a_second_shift_on_a_managed_route_is_refused_and_starts_after_the_first_ends(
    start_daemon: Callable[[], DaemonProcess], clean_sandbox: SandboxInfo
) -> None:
    info = clean_sandbox
    daemon = start_daemon()
    create(info, traffic_shift("reviews-owner", interval="30s"))
    at_step_one(info, "reviews-owner")
    vs = json.loads(kubectl(info, "get", "virtualservice", "reviews", "-o", "json").stdout)
    assert json.loads(vs["metadata"]["annotations"][OWNERS_ANNOTATION]) == {
        "http[0]": "reviews-owner"
    }

    create(info, traffic_shift("reviews-intruder", interval="30s"))
    refused = wait_for_phase(info, "reviews-intruder", "Invalid", 20.0)
    assert "is managed by TrafficShift reviews-owner" in refused["message"]
    assert [d.get("weight") for d in route_of(info, "reviews")] == [50, 50]
    assert status_of(info, "reviews-owner")["phase"] in ("Progressing", "Holding")

    # The owner ends (an operator abort rolls it back): the route is released, and the
    # waiting shift is woken by the VirtualService's change and starts.
    kubectl(
        info,
        "annotate",
        "trafficshift",
        "reviews-owner",
        "weightgate.dev/intent=abort",
        "weightgate.dev/intent-id=abort-1",
        "--overwrite",
    )
    wait_for_phase(info, "reviews-owner", "RolledBack", 20.0)
    started = at_step_one(info, "reviews-intruder")
    assert started["phase"] in ("Progressing", "Holding")
    woken = daemon.find("job.added", shift="reviews-intruder")
    assert any(r.get("reason") == f"VirtualService {info.namespace}/reviews changed" for r in woken)


def test_sigterm_stops_the_controller_between_ticks_with_exit_0(
    start_daemon: Callable[[], DaemonProcess], clean_sandbox: SandboxInfo
) -> None:
    info = clean_sandbox
    daemon = start_daemon()
    create(info, traffic_shift("reviews-sigterm", interval="30s"))
    at_step_one(info, "reviews-sigterm")
    started = time.monotonic()
    assert daemon.terminate(timeout=15) == 0
    assert time.monotonic() - started < 5
    assert daemon.find("controller.stopped")
    assert not daemon.find("controller.stopped", level="warning")  # no tick was cut off
    assert status_of(info, "reviews-sigterm")["writePending"] is False
