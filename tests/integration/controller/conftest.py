"""Fixtures for the controller acceptance tests: a `Harness` on the session sandbox, with the
shared state (reviews route, faults, load, our TrafficShifts) reset before and after each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.sandbox.stack import SandboxInfo
from tests.integration.controller.harness import Harness
from tests.integration.controller.knobs import load_rps, reset_shared_state, wait_canary_quiet

HERE = Path(__file__).parent
QUIET_WINDOW = "10s"  # the analysis window of every test shift


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything here drives the whole sandbox, so it all carries the integration mark."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def baseline_rps(sandbox: SandboxInfo) -> float:
    """The load generator's rate as the sandbox started; every test restores it."""
    return load_rps(sandbox)


@pytest.fixture
def harness(sandbox: SandboxInfo, baseline_rps: float, tmp_path: Path) -> Iterator[Harness]:
    reset_shared_state(sandbox, baseline_rps)
    harness = Harness(sandbox, tmp_path)
    try:
        yield harness
    finally:
        harness.close()
        reset_shared_state(sandbox, baseline_rps)
        if harness.canary_faulted:
            # Faulty v3 samples left in the window would fail the next test's gates.
            wait_canary_quiet(sandbox, QUIET_WINDOW)
