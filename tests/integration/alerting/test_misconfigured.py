"""A TrafficShift whose alerts name a provider the controller does not have: nobody would ever
hear of its rollback, so the daemon says so at once - and still shifts it."""

from __future__ import annotations

from typing import Any

from tests.integration.alerting.conftest import StartDaemon
from tests.integration.alerting.sampling import stays
from tests.integration.alerting.scene import Scene
from tests.integration.sandbox_fixtures import poll

AT_ONCE = 5.0  # seconds: the first tick or two of a daemon checking every second
# More canary requests than the window can hold: the gates never judge, so the shift stays at
# step 1 whatever traffic an earlier test left in Prometheus.
NEVER_ENOUGH = 1_000_000


def condition(status: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions", []) if c["type"] == kind), None)


def test_unknown_provider_is_flagged_at_once_and_the_shift_still_runs(
    scene: Scene, start_daemon: StartDaemon
) -> None:
    """Routes to provider 'nobody' (undefined) and 'sandbox': an AlertsMisconfigured condition
    and one Warning Event within the first seconds, while the shift takes its first step."""
    start_daemon()
    shift = scene.new_shift(
        "nobody",
        alerts=[
            {"provider": "nobody", "events": ["rollback"]},
            {"provider": "sandbox", "events": ["rollback"]},
        ],
        min_requests=NEVER_ENOUGH,
    )
    scene.apply(shift)

    flagged = poll(
        "the AlertsMisconfigured condition",
        lambda: condition(scene.status(shift.name), "AlertsMisconfigured"),
        AT_ONCE,
        every=0.1,
    )
    assert (flagged["status"], flagged["reason"]) == ("True", "UnknownProvider")
    assert "spec.alerts[0].provider 'nobody'" in flagged["message"]
    assert "configured: 'sandbox'" in flagged["message"]
    assert "spec.alerts[1]" not in flagged["message"]
    status = scene.status(shift.name)
    assert status["phase"] in ("Progressing", "Holding")
    assert status["canaryWeight"] == 50
    # The status records the step before the route is written (and its events are sent in
    # between), so the route may follow a moment later.
    poll("the route at 50%", lambda: scene.weight() == 50, AT_ONCE, every=0.1)

    events = scene.wait_events(shift.name, "AlertsMisconfigured", 1, AT_ONCE)
    assert [(e["type"], e["message"]) for e in events] == [("Warning", flagged["message"])]
    stays(
        "AlertsMisconfigured events (and their count) over further ticks",
        lambda: [
            e.get("count", 1)
            for e in scene.events(shift.name)
            if e["reason"] == "AlertsMisconfigured"
        ],
        [1],
        seconds=3,
    )
