"""A shift's analysis.checkInterval sets the pace of its gate checks over the controller's own
check interval: with the controller at 10s and the shift at 1s, a failing canary's two failed
checks (failureLimit 2) come about a second apart, not ten."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.integration.controller.harness import Harness

CONTROLLER_CHECK_INTERVAL = 10.0
SHIFT_ANALYSIS: dict[str, Any] = {"profile": "default", "checkInterval": "1s"}
# Well under the controller's 10s, with room for late ticks on two busy cores.
MOST_BETWEEN_CHECKS = timedelta(seconds=5)


def history_times(status: dict[str, Any], reason: str) -> list[datetime]:
    return [datetime.fromisoformat(e["time"]) for e in status["history"] if e["reason"] == reason]


def test_shift_check_interval_wins_over_the_controllers(harness: Harness) -> None:
    shift = harness.new_shift("own-pace", failure_limit=2, spec={"analysis": SHIFT_ANALYSIS})
    harness.fault_canary(error_rate=0.2)
    result = harness.run(shift, check_interval=CONTROLLER_CHECK_INTERVAL)

    assert result.code == 3, result.output
    status = harness.status(shift)
    assert status["phase"] == "RolledBack"
    [failed] = history_times(status, "CheckFailed")
    [rolled_back] = history_times(status, "RolledBack")
    between = rolled_back - failed
    assert between <= MOST_BETWEEN_CHECKS, (
        f"the second failed check came {between} after the first: the shift's checkInterval "
        f"1s was not used (controller: {CONTROLLER_CHECK_INTERVAL:g}s)"
    )
