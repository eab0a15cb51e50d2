"""Fixtures for the monitoring-stack tests: a session Prometheus, sinks, an Alertmanager."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controller.sandbox.promstack import (
    AlertmanagerProcess,
    PrometheusProcess,
    PythonModuleProcess,
)
from controller.sandbox.sink import SinkServer
from tests.integration.promstack.helpers import running_prometheus


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusProcess]:
    """One real Prometheus for the session; tests add their own targets."""
    with running_prometheus(tmp_path_factory.mktemp("prometheus")) as process:
        yield process


@pytest.fixture
def sink_server() -> Iterator[SinkServer]:
    """An in-process sink, for tests of the sink itself."""
    server = SinkServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sink_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PythonModuleProcess]:
    """The sink as the sandbox runs it: `python -m controller.sandbox.sink`."""
    workdir = tmp_path_factory.mktemp("sink")
    with PythonModuleProcess("controller.sandbox.sink", ["--port", "0"], workdir, "sink") as sink:
        sink.start()
        yield sink


@pytest.fixture(scope="module")
def alertmanager(
    sink_process: PythonModuleProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AlertmanagerProcess]:
    workdir = tmp_path_factory.mktemp("alertmanager")
    with AlertmanagerProcess(f"{sink_process.url}/alerts", workdir) as process:
        process.start()
        yield process
