"""No traffic to the canary is no evidence: the shift holds at step 1 (phase Holding, gates
inconclusive) and never advances; `weightgate run --timeout` gives up with exit 4."""

from __future__ import annotations

from tests.integration.controller.cluster_view import WeightWatcher, step_path
from tests.integration.controller.harness import Harness
from tests.integration.controller.knobs import set_load, wait_canary_quiet

INTERVAL = 4.0
WINDOW = 10.0  # the harness's analysis window: the step's first window is a quiet wait
TIMEOUT = WINDOW + 2 * INTERVAL  # long enough for two whole dwells, had the gates passed


def test_canary_without_traffic_holds_at_step_one_and_never_advances(harness: Harness) -> None:
    set_load(harness.info, 0)  # the teardown's reset restores the load
    wait_canary_quiet(harness.info, "10s")
    shift = harness.new_shift("no-traffic", interval=f"{INTERVAL:g}s", progress_deadline="60s")
    with WeightWatcher(harness.reader) as watcher:
        result = harness.run(shift, timeout=TIMEOUT)

    assert result.code == 4, result.output
    assert "re-run to resume" in result.output
    status = harness.status(shift)
    assert (status["phase"], status["currentStep"], status["canaryWeight"]) == ("Holding", 1, 50)
    assert [g["verdict"] for g in status["gates"]] == ["Inconclusive", "Inconclusive"]
    assert all("minRequests" in g["message"] for g in status["gates"]), status["gates"]
    assert [e.reason for e in step_path(status)] == ["ShiftStarted"]
    assert watcher.path() == [0, 50]
