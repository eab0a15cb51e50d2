"""An unreliable API server does not change where a shift ends: with 409 Conflict and 503
Unavailable answered to a third of the controller's writes (VirtualService patches, status
updates), a healthy canary is still promoted step by step and a faulty one still rolled back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from controller.sandbox.apiserver.admin import inject_fault
from tests.integration.controller.cluster_view import WeightWatcher, step_path_problems
from tests.integration.controller.harness import Harness
from tests.integration.controller.knobs import all_v1_spec, fired_faults, inject_write_faults

WRITE_FAULT_PROBABILITY = 0.33
INTERVAL = 4.0
V3 = {"destination": {"host": "reviews", "subset": "v3"}}


# Seeds under which both a 409 and a 503 come among the first four VirtualService patches and
# status updates, so even the short rolled-back run meets both (the rules' draws are replayable).
@pytest.mark.parametrize(
    ("canary_healthy", "seed"), [(True, 22), (False, 13)], ids=["promoted", "rolled-back"]
)
def test_shift_converges_to_the_right_end_despite_409_and_503_on_writes(
    harness: Harness, canary_healthy: bool, seed: int
) -> None:
    if not canary_healthy:
        harness.fault_canary(error_rate=0.2)
    shift = harness.new_shift("api-faults", interval=f"{INTERVAL:g}s")
    inject_write_faults(harness.info, WRITE_FAULT_PROBABILITY, seed)
    with WeightWatcher(harness.reader) as watcher:
        result = harness.run(shift)

    fired = fired_faults(harness.info)
    assert fired.get(409, 0) > 0, fired
    assert fired.get(503, 0) > 0, fired
    status = harness.status(shift)
    problems = step_path_problems(
        status, shift.steps, timedelta(seconds=INTERVAL), promoted=canary_healthy
    )
    assert problems == []
    final = harness.reader.virtual_service()["spec"]
    if canary_healthy:
        assert (result.code, status["phase"]) == (0, "Promoted"), result.output
        assert final == {
            **all_v1_spec(),
            "http": [{"route": [{"destination": {"host": "reviews", "subset": "v3"}}]}],
        }
        assert watcher.path() == [0, 50, 100]
    else:
        assert (result.code, status["phase"]) == (3, "RolledBack"), result.output
        assert final == all_v1_spec()
        assert watcher.path() == [0, 50, 0]
    assert not status["writePending"]


def test_a_burst_of_conflicts_on_status_writes_is_retried_not_fatal(harness: Harness) -> None:
    """Four 409s in a row on the status (one tick's worth of re-reads and redos) are a busy
    API server, not a reason for `weightgate run` to give up: the next tick carries on."""
    shift = harness.new_shift("conflict-burst", interval=f"{INTERVAL:g}s")
    inject_fault(
        harness.info.api,
        verb="update",
        resource="trafficshifts/status",
        namespace=harness.info.namespace,
        status=409,
        count=4,
    )
    result = harness.run(shift)

    assert fired_faults(harness.info) == {}, "all four conflicts were answered"
    assert result.code == 0, result.output
    assert harness.status(shift)["phase"] == "Promoted"


def test_a_503_while_applying_the_shift_is_retried_like_any_tick(harness: Harness) -> None:
    shift = harness.new_shift("apply-503", interval=f"{INTERVAL:g}s")
    inject_fault(
        harness.info.api,
        verb="create",
        resource="trafficshifts",
        namespace=harness.info.namespace,
        status=503,
        count=1,
    )
    result = harness.run(shift)

    assert fired_faults(harness.info) == {}, "the 503 was answered"
    assert result.code == 0, result.output
