"""What the leader-election tests read and reset in the sandbox: the leader Lease (read straight
from the API stand-in, so a takeover is timed to a tenth of a second), our test TrafficShifts
and the step path their history records, and the shared state every test starts from.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import requests

from controller.sandbox.apiserver.admin import clear_faults
from controller.sandbox.stack import SandboxInfo
from tests.integration.controller.cluster_view import StepEntry, step_path
from tests.integration.controller.harness import shift_manifest
from tests.integration.controller.knobs import all_v1_spec, apply_reviews, kubectl, set_mesh_fault
from tests.integration.leader.replicas import LEASE_NAME, LEASE_NAMESPACE
from tests.integration.sandbox_fixtures import delete_shifts, poll

TEST_LABEL = "weightgate.dev/test"
TEST_LABEL_VALUE = "leader"
LEASE_PATH = f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases/{LEASE_NAME}"
SHIFT_PATH = "/apis/weightgate.dev/v1alpha1/namespaces/{ns}/trafficshifts/{name}"
STEP_PATH = [(1, "ShiftStarted"), (2, "StepAdvanced"), (2, "Promoted")]


@dataclass(frozen=True)
class Lease:
    holder: str
    acquired: datetime | None
    renewed: datetime | None
    duration_seconds: int
    transitions: int


def _micro_time(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def read_lease(info: SandboxInfo) -> Lease | None:
    response = requests.get(info.api + LEASE_PATH, timeout=5)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    spec = response.json().get("spec") or {}
    return Lease(
        holder=str(spec.get("holderIdentity") or ""),
        acquired=_micro_time(spec.get("acquireTime")),
        renewed=_micro_time(spec.get("renewTime")),
        duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
        transitions=int(spec.get("leaseTransitions") or 0),
    )


def wait_for_holder(info: SandboxInfo, holders: set[str], timeout: float) -> Lease:
    """Until the Lease names one of `holders`."""

    def held() -> Lease | None:
        lease = read_lease(info)
        return lease if lease is not None and lease.holder in holders else None

    return poll(f"the Lease to be held by one of {sorted(holders)}", held, timeout, every=0.1)


def create_shift(info: SandboxInfo, prefix: str, interval_seconds: int) -> str:
    """A uniquely named v1 -> v3 shift on reviews, steps [50, 100], window 10s, minRequests 5;
    returns its name."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    manifest = shift_manifest(name, interval=f"{interval_seconds}s", window="10s", min_requests=5)
    manifest["metadata"]["labels"] = {TEST_LABEL: TEST_LABEL_VALUE}
    kubectl(info, "create", "-f", "-", stdin=json.dumps(manifest))
    return name


def shift_status(info: SandboxInfo, name: str) -> dict[str, Any]:
    response = requests.get(info.api + SHIFT_PATH.format(ns=info.namespace, name=name), timeout=5)
    response.raise_for_status()
    status = response.json().get("status")
    return status if isinstance(status, dict) else {}


def wait_for_status(
    info: SandboxInfo, name: str, what: str, timeout: float, **wanted: Any
) -> dict[str, Any]:
    """Until the shift's status has every field of `wanted` (e.g. phase="Promoted")."""

    def reached() -> dict[str, Any] | None:
        status = shift_status(info, name)
        return status if all(status.get(k) == v for k, v in wanted.items()) else None

    return poll(f"TrafficShift {name} to be {what}", reached, timeout, every=0.1)


def shift_events(info: SandboxInfo, name: str) -> list[tuple[str, datetime]]:
    """(reason, creation time) of every Event about the shift; creation is in whole seconds."""
    listed = json.loads(kubectl(info, "get", "events", "-o", "json").stdout)["items"]
    return [
        (e["reason"], datetime.fromisoformat(e["metadata"]["creationTimestamp"]))
        for e in listed
        if e.get("involvedObject", {}).get("name") == name
    ]


def assert_steps_once_in_order(status: dict[str, Any], interval_seconds: int) -> list[StepEntry]:
    """History takes each step exactly once, in order, and no step before its interval."""
    taken = step_path(status)
    assert [(e.step, e.reason) for e in taken] == STEP_PATH, status.get("history")
    for before, after in pairwise(taken):
        assert after.time - before.time >= timedelta(seconds=interval_seconds), (before, after)
    return taken


def reset_shared_state(info: SandboxInfo) -> None:
    """No API or mesh faults, none of our shifts, no Lease, and reviews on the all-v1 route."""
    clear_faults(info.api)
    set_mesh_fault(info, clear=True)
    delete_shifts(info, f"{TEST_LABEL}={TEST_LABEL_VALUE}")
    kubectl(info, "-n", LEASE_NAMESPACE, "delete", "lease", LEASE_NAME, "--ignore-not-found")
    apply_reviews(info, all_v1_spec())
