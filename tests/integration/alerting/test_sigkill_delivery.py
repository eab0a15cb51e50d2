"""At least once across a crash: a rollback alert owed when the daemon is SIGKILLed is in the
shift's status, and the next daemon delivers it, with the same dedup key."""

from __future__ import annotations

from tests.integration.alerting.conftest import StartDaemon
from tests.integration.alerting.sampling import stays
from tests.integration.alerting.scene import Scene
from tests.integration.alerting.settings_files import alertmanager, write_settings
from tests.integration.alerts.receivers import closed_port
from tests.integration.sandbox_fixtures import poll

QUICK_RETRY = {"initialBackoff": "1s", "maxBackoff": "1s"}


def test_alert_owed_at_sigkill_is_delivered_by_the_next_daemon(
    scene: Scene, start_daemon: StartDaemon
) -> None:
    """Provider `sandbox` points at a closed port: the rollback alert waits in
    status.pendingAlerts; after SIGKILL, a daemon with the real sandbox Alertmanager delivers it
    (the sink gets it once, same dedup_key) and empties pendingAlerts."""
    unreachable = write_settings(
        scene.sandbox_dir,
        scene.workdir / "unreachable.yaml",
        {"sandbox": alertmanager(f"http://127.0.0.1:{closed_port()}")},
        retry=QUICK_RETRY,
    )
    first = start_daemon(unreachable)
    scene.fault_canary(error_rate=0.3)
    shift = scene.new_shift("sigkill", alerts=[{"provider": "sandbox", "events": ["rollback"]}])
    scene.apply(shift)
    scene.wait_phase(shift.name, "RolledBack", timeout=40)

    def owed() -> list[dict[str, object]] | None:
        alerts = scene.status(shift.name).get("pendingAlerts", [])
        return alerts if alerts and alerts[0]["attempts"] >= 1 else None

    poll("the rollback alert to wait after a failed attempt", owed, timeout=10, every=0.1)
    first.kill()
    (waiting,) = scene.status(shift.name)["pendingAlerts"]
    assert (waiting["event"], waiting["provider"]) == ("rollback", "sandbox")
    assert "could not connect" in waiting["lastError"]
    assert scene.sink.alertmanager_alerts(shift.name) == []

    start_daemon()  # DIR/controller.yaml: `sandbox` is the sandbox's real Alertmanager
    poll(
        "the owed alert at the sink",
        lambda: scene.sink.alertmanager_alerts(shift.name) or None,
        timeout=20,
    )
    poll("an empty outbox", lambda: not scene.status(shift.name).get("pendingAlerts"), 10)
    stays(
        "dedup keys of the alerts at the sink",
        lambda: [a["annotations"]["dedup_key"] for a in scene.sink.alertmanager_alerts(shift.name)],
        [waiting["dedupKey"]],
        seconds=3,
    )
    assert scene.status(shift.name)["firingAlerts"][0]["dedupKey"] == waiting["dedupKey"]
