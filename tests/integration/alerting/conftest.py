"""Fixtures for the alerting acceptance tests: a `Scene` on the session sandbox whose shared
state (reviews route, faults, our shifts, the probe route, the sink) is reset before and after
each test, controller daemons that are always killed, and the wait for a healthy canary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from controller.sandbox.stack import SandboxInfo
from tests.integration.alerting.processes import Daemon
from tests.integration.alerting.scene import CanaryFaults, Scene

HERE = Path(__file__).parent

StartDaemon = Callable[..., Daemon]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything here drives the whole sandbox, so it all carries the integration mark."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="package")
def canary_faults(sandbox: SandboxInfo) -> Iterator[CanaryFaults]:
    """Shared by the package; when it is done, faulty v3 samples are waited out so the suites
    that follow start with a healthy canary."""
    faults = CanaryFaults()
    yield faults
    faults.wait_healthy(sandbox)


@pytest.fixture
def scene(sandbox: SandboxInfo, canary_faults: CanaryFaults, tmp_path: Path) -> Iterator[Scene]:
    scene = Scene(sandbox, tmp_path, canary_faults)
    scene.reset()
    try:
        yield scene
    finally:
        scene.reset()
        scene.close()


@pytest.fixture
def healthy_scene(scene: Scene) -> Scene:
    """A scene whose canary has no faulty traffic left in the analysis window."""
    scene.canary.wait_healthy(scene.info, even_if_not_faulted=True)
    return scene


@pytest.fixture
def start_daemon(scene: Scene) -> Iterator[StartDaemon]:
    """Starts `weightgate controller` (optionally with a settings file and extra environment)
    and waits until it has listed its shifts; every one started is SIGKILLed afterwards,
    before the scene is reset."""
    started: list[Daemon] = []

    def start(config: Path | None = None, env: Mapping[str, str] | None = None) -> Daemon:
        log = scene.workdir / f"controller-{len(started) + 1}.log"
        daemon = Daemon(scene.sandbox_dir, scene.info.namespace, log, config=config, env=env)
        started.append(daemon)
        return daemon.wait_started()

    yield start
    for daemon in started:
        daemon.kill()
