"""Fixtures for analysis against a real Prometheus scraping Istio-shaped telemetry.

One Prometheus and one exporter per module (starting Prometheus and waiting for rate() data is
the slow part); tests that stop or freeze Prometheus get their own short-lived one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import start_http_server

from controller.analysis.prometheus import PrometheusQueryClient
from tests.integration.analysis.mesh import IstioTelemetry, TrafficThread
from tests.integration.analysis.promserver import PrometheusServer, prometheus_binary

DATA_DEADLINE_SECONDS = 20.0


@pytest.fixture(scope="module")
def binary() -> str:
    found = prometheus_binary()
    if found is None:
        pytest.skip("prometheus binary not found: install the Debian package 'prometheus'")
    return found


@pytest.fixture(scope="module")
def exporter_target() -> Iterator[str]:
    """host:port of a running exporter with v1/v3 traffic flowing."""
    telemetry = IstioTelemetry()
    server, thread = start_http_server(0, addr="127.0.0.1", registry=telemetry.registry)
    traffic = TrafficThread(telemetry)
    traffic.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        traffic.stop()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def prometheus(
    binary: str, exporter_target: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    with PrometheusServer(binary, tmp_path_factory.mktemp("prometheus"), [exporter_target]) as p:
        yield p


@pytest.fixture(scope="module")
def client(prometheus: PrometheusServer) -> Iterator[PrometheusQueryClient]:
    """A client on a Prometheus whose rate() already sees v1 and v3 traffic."""
    with PrometheusQueryClient(prometheus.url, timeout_seconds=5) as query_client:
        _wait_for_rate_data(query_client, prometheus)
        yield query_client


@pytest.fixture
def spare_prometheus(binary: str, tmp_path: Path) -> Iterator[Callable[[], PrometheusServer]]:
    """Starts a Prometheus of the test's own (to stop or freeze); always stopped at the end."""
    started: list[PrometheusServer] = []

    def start() -> PrometheusServer:
        workdir = tmp_path / f"prometheus-{len(started)}"
        workdir.mkdir()
        server = PrometheusServer(binary, workdir, [])
        started.append(server)
        return server.__enter__()

    try:
        yield start
    finally:
        for server in started:
            server.stop()


def _wait_for_rate_data(client: PrometheusQueryClient, prometheus: PrometheusServer) -> None:
    query = 'count(rate(istio_requests_total{destination_version=~"v1|v3"}[30s]) > 0)'
    deadline = time.monotonic() + DATA_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        samples = client.instant_query(query)
        if samples and samples[0].value >= 3:  # v1 200, v3 200, v3 503
            return
        time.sleep(0.2)
    raise RuntimeError(f"no rate() data after {DATA_DEADLINE_SECONDS}s:\n{prometheus.log_tail()}")
