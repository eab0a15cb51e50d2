"""A canary that fails a gate is rolled back to exactly the all-v1 route, fast (within
failureLimit checks plus one scrape and one window), with the evidence in its status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.integration.controller.cluster_view import WeightWatcher, step_path_problems
from tests.integration.controller.harness import CHECK_INTERVAL, SCRAPE, TICK, Harness
from tests.integration.controller.knobs import all_v1_spec

# Two cores run the mesh, Prometheus, the API and the controller: a tick may start late.
SCHEDULING_SLACK = 1.5
# From `weightgate run` starting to its first tick: interpreter, imports, applying the shift.
STARTUP_ALLOWANCE = 4.0


@dataclass(frozen=True)
class GateFault:
    gate: str
    mesh_fault: dict[str, Any]
    threshold: str
    limit: float


FAULTS = [
    GateFault("error-rate", {"error_rate": 0.2}, "<= 1", 1.0),
    GateFault("latency-p99", {"latency_ms": 800}, "<= 500", 500.0),
]


def rollback_bound(window: float, failure_limit: int) -> float:
    """Seconds from the first step to the rollback: one window and one scrape until the window
    holds only faulty traffic, then failureLimit checks (each at most a tick late)."""
    return window + SCRAPE + failure_limit * (CHECK_INTERVAL + TICK) + SCHEDULING_SLACK


def history_time(status: dict[str, Any], reason: str) -> datetime:
    return next(
        datetime.fromisoformat(e["time"]) for e in status["history"] if e["reason"] == reason
    )


@pytest.mark.parametrize("fault", FAULTS, ids=[f.gate for f in FAULTS])
def test_failing_canary_rolls_back_to_all_v1_in_bound_naming_the_evidence(
    harness: Harness, fault: GateFault
) -> None:
    shift = harness.new_shift(f"fail-{fault.gate}")
    harness.fault_canary(**fault.mesh_fault)
    with WeightWatcher(harness.reader) as watcher:
        result = harness.run(shift)

    assert result.code == 3, result.output
    status = harness.status(shift)
    assert status["phase"] == "RolledBack"
    assert harness.reader.virtual_service()["spec"] == all_v1_spec()
    assert watcher.path() == [0, 50, 0]

    bound = rollback_bound(shift.window, shift.failure_limit)
    took = history_time(status, "RolledBack") - history_time(status, "ShiftStarted")
    assert took <= timedelta(seconds=bound), f"rollback took {took}, bound {bound}s"
    assert result.seconds <= bound + STARTUP_ALLOWANCE, result.output

    failed = [g for g in status["gates"] if g["verdict"] == "Fail"]
    assert [g["name"] for g in failed] == [fault.gate], status["gates"]
    gate = failed[0]
    assert gate["value"] > fault.limit
    assert gate["threshold"] == fault.threshold
    assert 'destination_version="v3"' in gate["query"]
    assert "[10s]" in gate["query"]

    message = status["message"]
    for evidence in (
        f"gate '{fault.gate}' failed",
        f"value {gate['value']:.6g}",
        f"threshold '{fault.threshold}'",
        f"query: {gate['query']}",
        f"(failureLimit {shift.failure_limit})",
    ):
        assert evidence in message, f"{evidence!r} not in status.message {message!r}"
    last = status["history"][-1]
    assert (last["reason"], last["phase"], last["message"]) == ("RolledBack", "RolledBack", message)
    assert step_path_problems(status, shift.steps, timedelta(seconds=5), promoted=False) == []
