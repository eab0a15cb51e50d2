"""A gate's critical threshold rolls a failing canary back on the first check that breaks it:
with failureLimit 3 and error-rate criticalMax 5, 50% errors on v3 end the shift after exactly
one failed check, and the status, its history and the Kubernetes Events say why.

50%, not 20%: a first check sees at least minRequests (20) canary requests, and at 20% one of
them failing or none (under the 5% critical bound, a plain failed check) has a chance of 7%;
at 50% it is 2e-5, so "exactly one failed check" is what the test sees every time."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.controller.cluster_view import WeightWatcher
from tests.integration.controller.harness import Harness
from tests.integration.controller.knobs import all_v1_spec, kubectl

FAILURE_LIMIT = 3
CRITICAL_GATES: dict[str, Any] = {
    "profile": "default",
    "gates": [{"name": "error-rate", "max": 1, "criticalMax": 5}],
}
FAILED_CHECK_REASONS = ("CheckFailed", "RolledBack")


def shift_events(harness: Harness, name: str) -> list[dict[str, Any]]:
    """The Kubernetes Events about TrafficShift `name`, as kubectl lists them."""
    listed = json.loads(kubectl(harness.info, "get", "events", "-o", "json").stdout)["items"]
    return [e for e in listed if e.get("involvedObject", {}).get("name") == name]


def test_critical_error_rate_rolls_back_after_one_failed_check(harness: Harness) -> None:
    shift = harness.new_shift(
        "critical", failure_limit=FAILURE_LIMIT, spec={"analysis": CRITICAL_GATES}
    )
    harness.fault_canary(error_rate=0.5)
    with WeightWatcher(harness.reader) as watcher:
        result = harness.run(shift)

    assert result.code == 3, result.output
    status = harness.status(shift)
    assert status["phase"] == "RolledBack"
    assert harness.reader.virtual_service()["spec"] == all_v1_spec()
    assert watcher.path() == [0, 50, 0]
    assert status["failedChecks"] == 1, status["history"]

    failed_checks = [e for e in status["history"] if e["reason"] in FAILED_CHECK_REASONS]
    assert [e["reason"] for e in failed_checks] == ["RolledBack"], status["history"]
    message = status["message"]
    assert failed_checks[0]["message"] == message

    gate = next(g for g in status["gates"] if g["name"] == "error-rate")
    assert (gate["verdict"], gate["critical"]) == ("Fail", True), gate
    assert gate["value"] > 5
    assert gate["threshold"] == "<= 1 (critical > 5)"
    for evidence in (
        f"without waiting for failureLimit {FAILURE_LIMIT}",
        f"1 of {FAILURE_LIMIT} failed checks",
        "gate 'error-rate' broke its critical threshold",
        f"value {gate['value']:.6g}",
        "threshold '<= 1 (critical > 5)'",
        f"query: {gate['query']}",
    ):
        assert evidence in message, f"{evidence!r} not in status.message {message!r}"

    events = shift_events(harness, shift.name)
    reasons = [e["reason"] for e in events]
    assert "CheckFailed" not in reasons, reasons
    rolled_back = [e for e in events if e["reason"] == "RolledBack"]
    assert len(rolled_back) == 1, reasons
    assert rolled_back[0]["type"] == "Warning"
    assert "broke its critical threshold" in rolled_back[0]["message"]
