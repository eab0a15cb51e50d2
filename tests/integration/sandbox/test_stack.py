"""The whole sandbox as `weightgate sandbox up` starts it: Istio's traffic-shifting files applied
with kubectl route real requests, Prometheus sees the same shares and faults, and Alertmanager
delivers to the sink."""

from __future__ import annotations

import collections
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from controller.sandbox.stack import SandboxInfo
from tests.conftest import SHARED_ISTIO
from tests.integration.sandbox_fixtures import kubectl, poll, prom_query

BOOKINFO = SHARED_ISTIO / "bookinfo"
SHARES_30S = (
    'sum by (destination_version) (rate(istio_requests_total{reporter="destination"}[30s]))'
)


def versions_answering(info: SandboxInfo, requests_count: int) -> collections.Counter[str]:
    session = requests.Session()
    return collections.Counter(
        session.get(info.productpage, params={"format": "json"}, timeout=10).json()[
            "reviews_version"
        ]
        for _ in range(requests_count)
    )


def apply(info: SandboxInfo, path: Path) -> None:
    kubectl(info, "apply", "-f", str(path))


@pytest.fixture
def bookinfo(istio_fixtures: Path, sandbox: SandboxInfo) -> Iterator[SandboxInfo]:
    """The sandbox with reviews back on 100% v1 and no faults after the test."""
    yield sandbox
    apply(sandbox, BOOKINFO / "virtual-service-all-v1.yaml")
    requests.post(f"{sandbox.mesh_admin}/admin/faults", json={"clear": True}, timeout=5)


def test_start_state_is_reviews_all_on_v1(sandbox: SandboxInfo) -> None:
    out = kubectl(sandbox, "get", "virtualservice", "reviews", "-o", "yaml").stdout
    assert "subset: v1" in out
    assert "subset: v3" not in out
    subsets = kubectl(
        sandbox, "get", "destinationrule", "reviews", "-o", "jsonpath={.spec.subsets[*].name}"
    ).stdout
    assert subsets.split() == ["v1", "v2", "v3"]
    assert set(versions_answering(sandbox, 50)) == {"v1"}


def test_fifty_fifty_splits_requests_and_prometheus_agrees(bookinfo: SandboxInfo) -> None:
    apply(bookinfo, BOOKINFO / "virtual-service-all-v1.yaml")
    apply(bookinfo, BOOKINFO / "virtual-service-reviews-50-v3.yaml")
    switched_at = time.monotonic()
    poll("the mesh to follow 50/50", lambda: "v3" in versions_answering(bookinfo, 20), 10)
    counts = versions_answering(bookinfo, 400)
    assert set(counts) == {"v1", "v3"}
    assert 0.40 <= counts["v3"] / 400 <= 0.60, counts

    def shares() -> dict[str, float] | None:
        # The 30 s window must hold only traffic sent after the switch.
        if time.monotonic() - switched_at < 31:
            return None
        rates = {
            r["metric"].get("destination_version"): float(r["value"][1])
            for r in prom_query(bookinfo, SHARES_30S)
        }
        total = sum(rates.values())
        return {v: rate / total for v, rate in rates.items() if rate > 0} if total else None

    measured = poll("Prometheus shares over 30s", shares, 60)
    assert set(measured) == {"v1", "v3"}, measured
    assert 0.40 <= measured["v3"] <= 0.60, measured


def test_all_v3_answers_only_v3(bookinfo: SandboxInfo) -> None:
    apply(bookinfo, BOOKINFO / "virtual-service-reviews-v3.yaml")
    poll("the mesh to follow 100% v3", lambda: set(versions_answering(bookinfo, 10)) == {"v3"}, 10)
    assert set(versions_answering(bookinfo, 200)) == {"v3"}


def test_error_rate_fault_shows_in_prometheus_within_15s(bookinfo: SandboxInfo) -> None:
    apply(bookinfo, BOOKINFO / "virtual-service-reviews-v3.yaml")
    poll("the mesh to follow 100% v3", lambda: set(versions_answering(bookinfo, 10)) == {"v3"}, 10)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "controller",
            "sandbox",
            "fault",
            "--dir",
            str(Path(bookinfo.kubeconfig).parent),
            "--version",
            "v3",
            "--error-rate",
            "0.2",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    fault_at = time.monotonic()
    v3 = 'reporter="destination",destination_version="v3"'
    ratio_query = (
        f'sum(rate(istio_requests_total{{{v3},response_code=~"5.."}}[10s]))'
        f" / sum(rate(istio_requests_total{{{v3}}}[10s]))"
    )

    def ratio_near_fault() -> float | None:
        if time.monotonic() - fault_at < 11:  # the 10 s window must start after the fault
            return None
        result = prom_query(bookinfo, ratio_query)
        value = float(result[0]["value"][1]) if result else None
        return value if value is not None and abs(value - 0.2) <= 0.05 else None

    ratio = poll("v3's 5xx ratio at 0.2 +/- 0.05", ratio_near_fault, 15 - 0.5)
    assert abs(ratio - 0.2) <= 0.05
    assert time.monotonic() - fault_at <= 15


def test_alert_posted_to_alertmanager_reaches_the_sink_within_5s(sandbox: SandboxInfo) -> None:
    marker = f"SandboxProbe{int(time.time() * 1000)}"
    alert = [
        {
            "labels": {"alertname": marker, "severity": "info"},
            "annotations": {"summary": "sandbox delivery probe"},
        }
    ]
    sent_at = time.monotonic()
    response = requests.post(f"{sandbox.alertmanager}/api/v2/alerts", json=alert, timeout=5)
    assert response.status_code == 200

    def delivered() -> bool:
        received = requests.get(f"{sandbox.sink}/received", timeout=5).text
        return marker in received

    poll("the alert at the sink", delivered, 5, every=0.1)
    assert time.monotonic() - sent_at <= 5.5
