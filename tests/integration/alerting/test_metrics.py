"""The daemon's /metrics, /healthz and /readyz while real shifts run: the canary weight as it
moves, gate values, and rollbacks counted exactly once.

Each shift is created paused (it waits at weight 0 before its first step), so the weight series
exists at 0 before the shift is released with ``spec.paused: false``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.alerting.conftest import StartDaemon
from tests.integration.alerting.processes import Daemon
from tests.integration.alerting.sampling import Sampler
from tests.integration.alerting.scene import Scene
from tests.integration.controller.harness import ShiftUnderTest
from tests.integration.controller.knobs import kubectl
from tests.integration.sandbox_fixtures import poll

WEIGHT = "weightgate_shift_canary_weight_percent"
ROLLBACK_REASONS = ("RolledBack", "ProgressDeadlineExceeded", "SpecChanged", "Aborted")


def shift_labels(scene: Scene, shift: ShiftUnderTest) -> dict[str, str]:
    return {"namespace": scene.info.namespace, "trafficshift": shift.name}


def paused_at_zero(scene: Scene, daemon: Daemon, shift: ShiftUnderTest) -> None:
    """Apply `shift` (created paused) and wait until /metrics shows it at weight 0."""
    scene.apply(shift)
    labels = shift_labels(scene, shift)
    poll(
        f"{shift.name} paused at weight 0 in /metrics",
        lambda: (
            daemon.sample("weightgate_shift_phase", phase="Paused", **labels) == 1
            and daemon.sample(WEIGHT, **labels) == 0
        ),
        timeout=10,
    )


def release(scene: Scene, shift: ShiftUnderTest) -> None:
    kubectl(scene.info, "patch", "trafficshift", shift.name, "--type", "merge", "-p",
            '{"spec": {"paused": false}}')  # fmt: skip


def gate_values(status: dict[str, Any]) -> dict[str, float]:
    return {g["name"]: g["value"] for g in status["gates"] if g.get("value") is not None}


def test_metrics_follow_a_promotion_and_the_health_endpoints_answer(
    healthy_scene: Scene, start_daemon: StartDaemon
) -> None:
    """/healthz and /readyz answer 200 once the shifts are listed; the weight series goes
    0 -> 50 -> 100, the gate values are the status's last checked values, one promotion and
    no rollback are counted."""
    scene = healthy_scene
    daemon = start_daemon()
    assert daemon.get("/healthz").status_code == 200
    assert daemon.get("/readyz").status_code == 200
    shift = scene.new_shift("metrics-up", alerts=[], interval="4s", spec={"paused": True})
    labels = shift_labels(scene, shift)
    paused_at_zero(scene, daemon, shift)

    with Sampler(lambda: daemon.sample(WEIGHT, **labels), every=0.2) as weights:
        release(scene, shift)
        status = scene.wait_phase(shift.name, "Promoted", timeout=45)
        # /metrics follows when the tick that wrote Promoted returns (after its alert delivery),
        # a moment after the status shows it: wait for the phase, every series is set with it.
        poll(
            "phase Promoted in /metrics",
            lambda: daemon.sample("weightgate_shift_phase", phase="Promoted", **labels) == 1,
            5,
        )

    assert weights.path() == [0, 50, 100]
    assert daemon.sample(WEIGHT, **labels) == 100
    last_checked = gate_values(status)
    assert set(last_checked) == {"error-rate", "latency-p99"}
    for gate, value in last_checked.items():
        shown = daemon.sample("weightgate_gate_value", gate=gate, **labels)
        assert shown == pytest.approx(value), gate
    assert daemon.sample("weightgate_promotions_total", **labels) == 1
    for reason in ROLLBACK_REASONS:
        assert daemon.sample("weightgate_rollbacks_total", reason=reason, **labels) == 0


def test_metrics_count_a_rollback_exactly_once(scene: Scene, start_daemon: StartDaemon) -> None:
    """A faulty canary: the weight series goes 0 -> 50 -> 0, the failing error-rate value is
    shown, and weightgate_rollbacks_total{reason="RolledBack"} rises from 0 by exactly one."""
    daemon = start_daemon()
    shift = scene.new_shift("metrics-down", alerts=[], spec={"paused": True})
    labels = shift_labels(scene, shift)
    paused_at_zero(scene, daemon, shift)
    assert daemon.sample("weightgate_rollbacks_total", reason="RolledBack", **labels) == 0
    scene.fault_canary(error_rate=0.3)

    with Sampler(lambda: daemon.sample(WEIGHT, **labels), every=0.2) as weights:
        release(scene, shift)
        status = scene.wait_phase(shift.name, "RolledBack", timeout=40)
        poll(
            "weight 0 in /metrics",
            lambda: weights.path()[-1:] == [0] and len(weights.path()) > 1,
            5,
        )

    assert weights.path() == [0, 50, 0]
    assert daemon.sample("weightgate_shift_phase", phase="RolledBack", **labels) == 1
    failing = gate_values(status)["error-rate"]
    assert failing > 1
    assert daemon.sample("weightgate_gate_value", gate="error-rate", **labels) == pytest.approx(
        failing
    )
    assert daemon.sample("weightgate_rollbacks_total", reason="RolledBack", **labels) == 1
    for reason in ROLLBACK_REASONS[1:]:
        assert daemon.sample("weightgate_rollbacks_total", reason=reason, **labels) == 0
    assert daemon.sample("weightgate_transitions_total", reason="RolledBack", **labels) == 1
    assert daemon.sample("weightgate_promotions_total", **labels) == 0
