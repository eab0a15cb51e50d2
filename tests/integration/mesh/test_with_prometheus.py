"""The mesh process under the real Prometheus: Istio-style PromQL sees weights, errors, latency.

One mesh process (routes from a fake API at 50/50 v1/v3, load generator at 100 rps) is scraped
every second by the session's Prometheus; every query filters on that mesh's `instance`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from controller.sandbox.promstack import PrometheusProcess, PythonModuleProcess
from tests.integration.mesh.conftest import NAMESPACE, destination_rule, virtual_service
from tests.integration.mesh.fake_api import FakeIstioApi
from tests.integration.promstack.helpers import instant_query, poll_until, values_by

pytestmark = pytest.mark.integration

RPS = 100
SCRAPE_SECONDS = 1.0


class LiveMesh:
    def __init__(self, process: PythonModuleProcess) -> None:
        self.process = process
        self.url = process.url
        self.instance = process.url.removeprefix("http://")

    def selector(self, **labels: str) -> str:
        pairs = {"reporter": "destination", "instance": self.instance, **labels}
        return ",".join(f'{k}="{v}"' for k, v in pairs.items())

    def set_faults(self, **faults: object) -> None:
        response = requests.post(f"{self.url}/admin/faults", json=faults, timeout=5)
        response.raise_for_status()


@pytest.fixture(scope="module")
def live_mesh(
    prometheus: PrometheusProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveMesh]:
    api = FakeIstioApi().start()
    api.put(NAMESPACE, "virtualservices", virtual_service({"v1": 50, "v3": 50}))
    api.put(NAMESPACE, "destinationrules", destination_rule())
    args = ["--port", "0", "--api", api.url, "--namespace", NAMESPACE, "--rps", str(RPS)]
    process = PythonModuleProcess(
        "controller.sandbox.mesh", args, tmp_path_factory.mktemp("mesh"), "mesh"
    )
    try:
        mesh = LiveMesh(process.start())
        prometheus.add_target(mesh.instance)
        yield mesh
        prometheus.remove_target(mesh.instance)
    finally:
        process.stop()
        api.stop()


def wait_for_scraped_traffic(live_mesh: LiveMesh, prometheus: PrometheusProcess) -> None:
    """Prometheus's discovery hands new targets over every 5 s, then rate() needs two scrapes."""
    query = f"sum(rate(istio_requests_total{{{live_mesh.selector()}}}[10s])) > 0"
    poll_until(
        lambda: instant_query(prometheus.url, query) or None,
        timeout=20,
        what=f"Prometheus to scrape traffic from {live_mesh.instance}",
    )


@pytest.fixture(autouse=True)
def clear_faults(live_mesh: LiveMesh) -> Iterator[None]:
    yield
    live_mesh.set_faults(clear=True)


def test_prometheus_sees_the_fifty_fifty_split(
    live_mesh: LiveMesh, prometheus: PrometheusProcess
) -> None:
    query = (
        f"sum by (destination_version) (rate(istio_requests_total{{{live_mesh.selector()}}}[30s]))"
    )

    def shares() -> dict[str, float] | None:
        rates = values_by(instant_query(prometheus.url, query), "destination_version")
        total = sum(rates.values())
        if set(rates) != {"v1", "v3"} or total == 0:
            return None
        result = {version: rate / total for version, rate in rates.items()}
        return result if all(0.4 <= share <= 0.6 for share in result.values()) else None

    wait_for_scraped_traffic(live_mesh, prometheus)
    found = poll_until(shares, timeout=10, what=f"both versions at 40-60% in {query}")
    assert set(found) == {"v1", "v3"}


def test_prometheus_sees_v3_error_ratio_once_a_window_has_passed(
    live_mesh: LiveMesh, prometheus: PrometheusProcess
) -> None:
    """The [10s] window holds only post-fault samples 11 s after the fault; from then on the
    ratio must read 0.2 (50 rps of v3: about 500 requests a window, sd 0.018). The deadline
    leaves 19 s for it, since a busy machine's load generator or scrape can run late."""
    errors = live_mesh.selector(destination_version="v3", response_code="503")
    everything = live_mesh.selector(destination_version="v3")
    query = (
        f"sum(rate(istio_requests_total{{{errors}}}[10s]))"
        f" / sum(rate(istio_requests_total{{{everything}}}[10s]))"
    )
    wait_for_scraped_traffic(live_mesh, prometheus)
    live_mesh.set_faults(version="v3", error_rate=0.2)
    faulted_at = time.monotonic()
    window_after_fault = faulted_at + 10 + SCRAPE_SECONDS

    def settled_ratio() -> float | None:
        now = time.monotonic()
        result = instant_query(prometheus.url, query)
        if now < window_after_fault or not result:
            return None  # the [10s] window still holds samples from before the fault
        ratio = float(result[0]["value"][1])
        return ratio if abs(ratio - 0.2) <= 0.05 else None

    ratio = poll_until(settled_ratio, timeout=30, what=f"a 5xx ratio of 0.2 +/- 0.05 in {query}")
    assert 0.15 <= ratio <= 0.25


def test_histogram_quantile_reflects_added_latency_on_v3_only(
    live_mesh: LiveMesh, prometheus: PrometheusProcess
) -> None:
    def p99(version: str) -> str:
        selector = live_mesh.selector(destination_version=version)
        return (
            "histogram_quantile(0.99, sum by (le) "
            f"(rate(istio_request_duration_milliseconds_bucket{{{selector}}}[10s])))"
        )

    wait_for_scraped_traffic(live_mesh, prometheus)
    live_mesh.set_faults(version="v3", latency_ms=300)

    def slow_v3() -> float | None:
        result = instant_query(prometheus.url, p99("v3"))
        value = float(result[0]["value"][1]) if result else 0.0
        return value if value >= 300 else None

    v3_p99 = poll_until(slow_v3, timeout=15, what=f"{p99('v3')} >= 300 ms")
    v1_p99 = float(instant_query(prometheus.url, p99("v1"))[0]["value"][1])
    assert v3_p99 >= 300
    assert v1_p99 < 50, "v1 has no added latency; its p99 should stay near the base latency"


def test_mesh_process_follows_api_changes_and_outages(tmp_path: Path) -> None:
    api = FakeIstioApi().start()
    api.put(NAMESPACE, "virtualservices", virtual_service({"v1": 100}))
    api.put(NAMESPACE, "destinationrules", destination_rule())
    args = ["--port", "0", "--api", api.url, "--rps", "0", "--poll-interval", "0.1"]
    with PythonModuleProcess("controller.sandbox.mesh", args, tmp_path, "mesh") as process:
        process.start()

        def version() -> str:
            url = f"{process.url}/productpage?format=json"
            return str(requests.get(url, timeout=5).json()["reviews_version"])

        assert version() == "v1"
        api.put(NAMESPACE, "virtualservices", virtual_service({"v1": 0, "v3": 100}))
        poll_until(lambda: version() == "v3" or None, timeout=1, what="v3 after the change")
        api.stop()

        def state_after_outage() -> dict[str, Any] | None:
            state = requests.get(f"{process.url}/admin/state", timeout=5).json()
            return state if state["route_source"]["last_error"] else None

        state = poll_until(state_after_outage, timeout=2, what="the mesh to see the API gone")
        assert state["routes"][0]["destinations"][1]["subset"] == "v3"
        assert {version() for _ in range(20)} == {"v3"}


def test_mesh_process_reads_bookinfo_files(bookinfo_dir: Path, tmp_path: Path) -> None:
    args = [
        "--vs-file", str(bookinfo_dir / "virtual-service-reviews-50-v3.yaml"),
        "--dr-file", str(bookinfo_dir / "destination-rule-reviews.yaml"),
        "--rps", "0", "--seed", "4",
    ]  # fmt: skip
    with PythonModuleProcess("controller.sandbox.mesh", args, tmp_path, "mesh") as process:
        process.start()
        url = f"{process.url}/productpage?format=json"
        seen = {requests.get(url, timeout=5).json()["reviews_version"] for _ in range(40)}
    assert seen == {"v1", "v3"}
