"""Integration-test fixtures shared across issues: one whole sandbox per session."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from controller.sandbox.stack import SandboxInfo
from tests.integration.sandbox_fixtures import running_sandbox


@pytest.fixture(scope="session")
def sandbox_process(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SandboxInfo, subprocess.Popen[bytes]]]:
    """`weightgate sandbox up` for the whole session (API, mesh, Prometheus, Alertmanager, sink)."""
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not installed: the sandbox tests drive the API with kubectl")
    with running_sandbox(tmp_path_factory.mktemp("sandbox")) as running:
        yield running


@pytest.fixture(scope="session")
def sandbox(sandbox_process: tuple[SandboxInfo, subprocess.Popen[bytes]]) -> SandboxInfo:
    return sandbox_process[0]
