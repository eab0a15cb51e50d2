"""Fixtures for the daemon's acceptance tests: controller processes that are always stopped,
and the shared sandbox state (reviews route, mesh and API faults, test shifts and routes) reset
before and after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from controller.sandbox.stack import SandboxInfo
from tests.integration.daemon.daemon_process import DaemonProcess, reset_shared_state

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything here drives the whole sandbox, so it all carries the integration mark."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def clean_sandbox(sandbox: SandboxInfo) -> Iterator[SandboxInfo]:
    reset_shared_state(sandbox)
    try:
        yield sandbox
    finally:
        reset_shared_state(sandbox)


@pytest.fixture
def start_daemon(
    clean_sandbox: SandboxInfo, tmp_path: Path
) -> Iterator[Callable[[], DaemonProcess]]:
    """Starts `weightgate controller` processes; every one still running is killed after."""
    started: list[DaemonProcess] = []

    def start() -> DaemonProcess:
        daemon = DaemonProcess(clean_sandbox, tmp_path / f"controller-{len(started)}.log")
        started.append(daemon)
        daemon.wait_ready()
        return daemon

    yield start
    for daemon in started:
        daemon.kill()
