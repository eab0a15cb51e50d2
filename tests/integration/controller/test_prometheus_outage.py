"""A Prometheus outage holds the weight: the shift never advances while Prometheus is down,
carries on to promotion once it is back, and rolls back when the outage outlasts
analysis.progressDeadline."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest

from controller.sandbox.promstack import PrometheusProcess
from controller.sandbox.stack import SandboxInfo
from tests.integration.controller.cluster_view import WeightWatcher, step_path, step_path_problems
from tests.integration.controller.harness import Harness, ShiftUnderTest
from tests.integration.controller.knobs import all_v1_spec
from tests.integration.sandbox_fixtures import poll

INTERVAL = 3.0


@pytest.fixture
def own_prometheus(sandbox: SandboxInfo, tmp_path: Path) -> Iterator[PrometheusProcess]:
    """A Prometheus of this test's own, scraping the sandbox mesh, so it can be stopped."""
    mesh = urlparse(sandbox.mesh_admin)
    prometheus = PrometheusProcess([f"{mesh.hostname}:{mesh.port}"], tmp_path / "prometheus")
    try:
        prometheus.start()
        yield prometheus
    finally:
        prometheus.stop()


def wait_passing_at_step_one(harness: Harness, shift: ShiftUnderTest) -> None:
    """Until the shift sits at step 1 with every gate passing: Prometheus demonstrably works."""

    def passing() -> bool:
        status = harness.status(shift)
        gates = status.get("gates") or []
        return (
            status.get("currentStep") == 1
            and bool(gates)
            and all(g["verdict"] == "Pass" for g in gates)
        )

    poll("the gates to pass at step 1", passing, 30, every=0.1)


def wait_holding_on_errors(harness: Harness, shift: ShiftUnderTest) -> dict[str, object]:
    def holding() -> dict[str, object] | None:
        status = harness.status(shift)
        gates = status.get("gates") or []
        errored = bool(gates) and all(g["verdict"] == "Error" for g in gates)
        return status if status.get("phase") == "Holding" and errored else None

    return poll("the shift to hold on Prometheus errors", holding, 10, every=0.1)


def test_weight_never_advances_while_prometheus_is_down_and_shift_promotes_after(
    harness: Harness, own_prometheus: PrometheusProcess
) -> None:
    shift = harness.new_shift("prom-outage", interval=f"{INTERVAL:g}s", progress_deadline="60s")
    with WeightWatcher(harness.reader) as watcher:
        run = harness.start(shift, prometheus_url=own_prometheus.url)
        wait_passing_at_step_one(harness, shift)
        own_prometheus.stop()
        down_at = time.monotonic()
        held = wait_holding_on_errors(harness, shift)
        assert "unreachable" in str(held["message"])
        # Observing that nothing happens: the outage must outlast two whole intervals.
        time.sleep(max(0.0, down_at + 2 * INTERVAL + 1 - time.monotonic()))
        assert watcher.weights_between(down_at, time.monotonic()) == {50}
        during = harness.status(shift)
        assert (during["phase"], during["currentStep"]) == ("Holding", 1)
        own_prometheus.restart()
        restarted_at = datetime.now(UTC)
        code = run.wait()

    assert code == 0, run.output()
    status = harness.status(shift)
    assert status["phase"] == "Promoted"
    assert watcher.path() == [0, 50, 100]
    advanced = next(e for e in step_path(status) if e.reason == "StepAdvanced")
    # A full interval of passing checks after the outage, never checks from before it.
    assert advanced.time - restarted_at >= timedelta(seconds=INTERVAL)
    assert step_path_problems(status, shift.steps, timedelta(seconds=INTERVAL), promoted=True) == []


def test_outage_past_progress_deadline_rolls_back_with_progress_deadline_exceeded(
    harness: Harness, own_prometheus: PrometheusProcess
) -> None:
    shift = harness.new_shift("prom-deadline", interval=f"{INTERVAL:g}s", progress_deadline="15s")
    with WeightWatcher(harness.reader) as watcher:
        run = harness.start(shift, prometheus_url=own_prometheus.url)
        wait_passing_at_step_one(harness, shift)
        own_prometheus.stop()
        stopped_at = datetime.now(UTC)
        code = run.wait()

    assert code == 3, run.output()
    status = harness.status(shift)
    last = status["history"][-1]
    assert (status["phase"], last["reason"]) == ("RolledBack", "ProgressDeadlineExceeded")
    assert datetime.fromisoformat(last["time"]) - stopped_at >= timedelta(seconds=15)
    assert "analysis.progressDeadline 15s" in status["message"]
    assert "unreachable" in status["message"]
    assert harness.reader.virtual_service()["spec"] == all_v1_spec()
    assert watcher.path() == [0, 50, 0]
