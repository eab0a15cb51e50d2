"""Fixtures for the synthetic Istio exporter's tests: the exporter as the benchmark runs it (a
`python -m` subprocess on a free loopback port) and a real Prometheus scraping it every second."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.sandbox.exporter import ScrapeRenderer, TrafficModel, service_catalog
from controller.sandbox.promstack import PrometheusProcess, PythonModuleProcess

HERE = Path(__file__).parent
SERVICES = 3
NAMESPACES = 2
RPS = 200.0
ERROR_PERCENT = 5.0
SEED = 7


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything here starts the exporter process, so it all carries the integration mark."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="module")
def exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PythonModuleProcess]:
    args = [
        "--services",
        str(SERVICES),
        "--namespaces",
        str(NAMESPACES),
        "--port",
        "0",
        "--rps",
        str(RPS),
        "--error-percent",
        str(ERROR_PERCENT),
        "--seed",
        str(SEED),
    ]
    workdir = tmp_path_factory.mktemp("exporter")
    process = PythonModuleProcess("controller.sandbox.exporter", args, workdir, "exporter")
    with process:
        process.start()
        yield process


@pytest.fixture(scope="module")
def prometheus(
    exporter: PythonModuleProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusProcess]:
    target = exporter.url.removeprefix("http://").rstrip("/")
    process = PrometheusProcess([target], tmp_path_factory.mktemp("prometheus"), interval="1s")
    with process:
        process.start()
        yield process


@pytest.fixture(scope="module")
def expected() -> ScrapeRenderer:
    """The same model the exporter runs, for the values the tests expect."""
    model = TrafficModel(rps=RPS, error_fraction=ERROR_PERCENT / 100)
    return ScrapeRenderer(service_catalog(SERVICES, NAMESPACES), model, SEED)
