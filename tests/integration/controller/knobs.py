"""The sandbox state the controller tests share and change: the reviews VirtualService (applied
with the real kubectl), the mesh's fault and load knobs, the API stand-in's fault rules, and
Prometheus's view of canary traffic. Every change here is undone by `reset_shared_state`.
"""

from __future__ import annotations

import copy
import json
import subprocess
from typing import Any

import requests

from controller.sandbox.apiserver.admin import clear_faults, inject_fault, list_faults
from controller.sandbox.stack import SandboxInfo
from tests.integration.controller.cluster_view import SandboxReader
from tests.integration.sandbox_fixtures import delete_shifts, poll, prom_query

TEST_LABEL = "weightgate.dev/acceptance"
TEST_LABEL_VALUE = "controller"

# Istio's virtual-service-all-v1.yaml for reviews: the plain single route every test starts from.
ALL_V1_SPEC: dict[str, Any] = {
    "hosts": ["reviews"],
    "http": [{"route": [{"destination": {"host": "reviews", "subset": "v1"}}]}],
}


def all_v1_spec() -> dict[str, Any]:
    return copy.deepcopy(ALL_V1_SPEC)


def kubectl(
    info: SandboxInfo, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["kubectl", "--kubeconfig", info.kubeconfig, "-n", info.namespace, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
    return result


def apply_reviews(info: SandboxInfo, spec: dict[str, Any]) -> dict[str, Any]:
    """`kubectl apply` the reviews VirtualService with `spec`; returns it once it is live and the
    mesh routes by it."""
    manifest = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": info.namespace},
        "spec": spec,
    }
    kubectl(info, "apply", "-f", "-", stdin=json.dumps(manifest))
    reader = SandboxReader(info)

    def applied() -> dict[str, Any] | None:
        vs = reader.virtual_service()
        return vs if vs["spec"] == spec else None

    try:
        live = poll("the reviews VirtualService to read back as applied", applied, 10)
    finally:
        reader.close()
    wait_mesh_follows(info, str(live["metadata"]["resourceVersion"]))
    return live


def mesh_state(info: SandboxInfo) -> dict[str, Any]:
    response = requests.get(f"{info.mesh_admin}/admin/state", timeout=5)
    response.raise_for_status()
    state: dict[str, Any] = response.json()
    return state


def wait_mesh_follows(info: SandboxInfo, resource_version: str, timeout: float = 10) -> None:
    """Until the mesh routes by the VirtualService at `resource_version` (or a later one)."""

    def follows() -> bool:
        seen = mesh_state(info).get("resource_version")
        return seen is not None and int(seen) >= int(resource_version)

    poll(f"the mesh to route by VirtualService version {resource_version}", follows, timeout)


def set_mesh_fault(info: SandboxInfo, **knobs: Any) -> None:
    """e.g. set_mesh_fault(info, version="v3", error_rate=0.2) or clear=True."""
    response = requests.post(f"{info.mesh_admin}/admin/faults", json=knobs, timeout=5)
    response.raise_for_status()


def set_load(info: SandboxInfo, rps: float) -> None:
    response = requests.post(f"{info.mesh_admin}/admin/load", json={"rps": rps}, timeout=5)
    response.raise_for_status()


def load_rps(info: SandboxInfo) -> float:
    return float(mesh_state(info)["load"]["rps"])


def inject_write_faults(info: SandboxInfo, probability: float, seed: int) -> None:
    """409 or 503 (about half each) on `probability` of the controller's writes: patch, put
    and post of virtualservices and of the trafficshifts status subresource."""
    # The first matching rule that fires wins, so the 503 rule's probability is conditional on
    # the 409 rule not firing: p409 + (1 - p409) * p503 == probability.
    p409 = probability / 2
    p503 = (probability - p409) / (1 - p409)
    rule = 0
    for resource in ("virtualservices", "trafficshifts/status"):
        for verb in ("patch", "update", "create"):
            for status, chance in ((409, p409), (503, p503)):
                rule += 1
                inject_fault(
                    info.api,
                    verb=verb,
                    resource=resource,
                    namespace=info.namespace,
                    status=status,
                    probability=chance,
                    seed=seed + rule,
                    count=None,
                )


def fired_faults(info: SandboxInfo) -> dict[int, int]:
    """How often each injected status has fired so far, by HTTP status."""
    fired: dict[int, int] = {}
    for rule in list_faults(info.api):
        fired[rule["status"]] = fired.get(rule["status"], 0) + int(rule["fired"])
    return fired


def canary_requests(info: SandboxInfo, window: str, version: str = "v3") -> float:
    """Requests Prometheus saw reach `version` of reviews in the last `window`."""
    query = (
        'sum(increase(istio_requests_total{reporter="destination",'
        f'destination_service_name="reviews",destination_version="{version}"}}[{window}]))'
    )
    result = prom_query(info, query)
    return float(result[0]["value"][1]) if result else 0.0


def wait_canary_quiet(info: SandboxInfo, window: str, timeout: float = 30) -> None:
    """Until Prometheus's `window` holds no v3 request (traffic from an earlier test is gone)."""
    poll(
        f"v3 to have no requests in the last {window}",
        lambda: canary_requests(info, window) < 0.5,
        timeout,
        every=0.5,
    )


def reset_shared_state(info: SandboxInfo, rps: float) -> None:
    """Back to the tutorial's start: no faults anywhere, the usual load, none of our
    TrafficShifts, and reviews on the plain all-v1 route."""
    clear_faults(info.api)
    set_mesh_fault(info, clear=True)
    set_load(info, rps)
    # Also those a stopped run left holding its finalizer (let go by hand, as an admin would).
    delete_shifts(info, f"{TEST_LABEL}={TEST_LABEL_VALUE}")
    apply_reviews(info, all_v1_spec())
