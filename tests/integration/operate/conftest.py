"""Fixtures for the operator-command acceptance tests: a `weightgate controller` daemon on the
session sandbox, with the shared state (route, faults, load, our shifts) reset around each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.sandbox.stack import SandboxInfo
from tests.integration.controller.knobs import load_rps, reset_shared_state, wait_canary_quiet
from tests.integration.operate.operator import Operator

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def operate_rps(sandbox: SandboxInfo) -> float:
    return load_rps(sandbox)


@pytest.fixture
def operator(sandbox: SandboxInfo, operate_rps: float, tmp_path: Path) -> Iterator[Operator]:
    reset_shared_state(sandbox, operate_rps)
    operator = Operator(sandbox, tmp_path)
    try:
        operator.start_daemon()
        yield operator
    finally:
        operator.close()
        reset_shared_state(sandbox, operate_rps)
        if operator.canary_faulted:
            wait_canary_quiet(sandbox, "10s")
