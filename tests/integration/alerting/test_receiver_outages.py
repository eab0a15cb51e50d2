"""Receivers that fail, with the daemon: one down for a while gets the alert once it is back
(once), and ones down for good neither delay the rollback nor slow the daemon, and are finally
given up on with a Warning Event."""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from tests.integration.alerting.conftest import StartDaemon
from tests.integration.alerting.processes import Daemon
from tests.integration.alerting.sampling import stays
from tests.integration.alerting.scene import PROBE_ROUTE, Scene
from tests.integration.alerting.settings_files import webhook, write_settings
from tests.integration.alerts.receivers import black_hole, closed_port
from tests.integration.sandbox_fixtures import poll

SECRET_ENV = "WG_TEST_SECRET"
QUICK_RETRY = {"initialBackoff": "1s", "maxBackoff": "1s"}
CHECK_INTERVAL = 1.0  # the daemon's --check-interval
FAILURE_LIMIT = 2
# From the first failed check to the rollback: failureLimit checks, one interval apart, plus a
# tick period of lateness and slack for a loaded machine.
ROLLBACK_AFTER_FIRST_FAILURE = (FAILURE_LIMIT - 1) * CHECK_INTERVAL + 1.5
ROLLBACK_DEADLINE = 40.0  # from applying a shift whose canary fails every check
HOLE_TIMEOUT = 3.0  # seconds the black-holed receiver's provider waits for an answer
GIVE_UP = {"initialBackoff": "1s", "maxBackoff": "2s", "giveUpAfter": "5s"}


def history_time(status: dict[str, Any], reason: str) -> datetime:
    entry = next(e for e in status["history"] if e["reason"] == reason)
    return datetime.fromisoformat(entry["time"])


def rollback_lag(status: dict[str, Any]) -> float:
    """Seconds from the first failed check to the rollback, as the status history says."""
    lag = history_time(status, "RolledBack") - history_time(status, "CheckFailed")
    return lag.total_seconds()


def pending(scene: Scene, name: str) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = scene.status(name).get("pendingAlerts", [])
    return alerts


def all_retrying(scene: Scene, name: str) -> list[dict[str, Any]] | None:
    """The outbox once every entry in it has failed at least once, else None."""
    alerts = pending(scene, name)
    return alerts if alerts and all(a["attempts"] >= 1 for a in alerts) else None


def test_alert_reaches_a_receiver_back_from_an_outage_exactly_once(
    scene: Scene, start_daemon: StartDaemon
) -> None:
    """The sink refuses the next 3 deliveries: the rollback is on time, the alert waits in
    status.pendingAlerts with its attempts counted, then arrives once, with its dedup key."""
    path = f"/webhook/{uuid.uuid4().hex[:8]}"
    config = write_settings(
        scene.sandbox_dir,
        scene.workdir / "controller.yaml",
        {"flaky": webhook(scene.info.sink + path, SECRET_ENV)},
        retry=QUICK_RETRY,
    )
    scene.sink.fail_next(3)
    daemon = start_daemon(config, env={SECRET_ENV: "flaky-secret"})
    scene.fault_canary(error_rate=0.3)
    shift = scene.new_shift("flaky", alerts=[{"provider": "flaky", "events": ["rollback"]}])

    applied = time.monotonic()
    scene.apply(shift)
    _, back_on_v1 = scene.wait_rolled_back(shift.name, ROLLBACK_DEADLINE)
    retrying = poll(
        "the alert to wait in the outbox after a refused attempt",
        lambda: [a for a in pending(scene, shift.name) if a["attempts"] >= 1] or None,
        timeout=10,
        every=0.1,
    )
    delivered = poll(
        "the alert at the sink", lambda: scene.sink.deliveries(path) or None, timeout=20
    )
    poll("an empty outbox", lambda: not pending(scene, shift.name), timeout=5)
    stays("deliveries recorded", lambda: len(scene.sink.deliveries(path)), 1, seconds=3)

    status = scene.status(shift.name)
    assert back_on_v1.at - applied < ROLLBACK_DEADLINE
    assert rollback_lag(status) <= ROLLBACK_AFTER_FIRST_FAILURE
    (firing,) = status["firingAlerts"]
    (waiting,) = retrying
    assert waiting["dedupKey"] == firing["dedupKey"]
    assert "HTTP 503" in waiting["lastError"]
    assert delivered[0]["body"]["dedupKey"] == firing["dedupKey"]
    assert scene.sink.received()["rejected"] == 3
    failures = daemon.find("alerts.delivery_failed", provider="flaky")
    assert [f["dedup_key"] for f in failures] == [firing["dedupKey"]] * 3
    assert [f["attempts"] for f in failures] == [1, 2, 3]


def probe_check_times(daemon: Daemon, name: str, start: datetime, end: datetime) -> list[str]:
    """When the controller took each check of shift ``name`` between ``start`` and ``end``,
    from its gate.checked log lines (one gate's lines: one per check)."""
    lines = daemon.find("gate.checked", shift=name)
    gate = lines[0]["gate"] if lines else ""
    times = [line["timestamp"] for line in lines if line["gate"] == gate]
    return [t for t in times if start <= datetime.fromisoformat(t) <= end]


def longest_gap(times: list[str]) -> float:
    """The longest wait, in seconds, between consecutive recorded checks."""
    moments = sorted(datetime.fromisoformat(t) for t in times if t)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(moments)]
    return max(gaps, default=0.0)


def tick_histogram(daemon: Daemon) -> tuple[float, dict[float, float]]:
    """weightgate_tick_duration_seconds: (count, cumulative count by upper bound)."""
    samples = daemon.metrics()
    count = next(v for n, _, v in samples if n == "weightgate_tick_duration_seconds_count")
    buckets = {
        float(labels["le"]): value
        for name, labels, value in samples
        if name == "weightgate_tick_duration_seconds_bucket"
    }
    return count, buckets


def test_dead_receivers_delay_neither_the_rollback_nor_other_shifts(
    scene: Scene, start_daemon: StartDaemon
) -> None:
    """Providers at a closed port and at a black hole (never answers, 3s timeout): the route is
    back on v1 as soon as the status says RolledBack, another shift keeps checking every
    second, no tick outlasts one timeout, and both are given up with AlertUndeliverable."""
    dead_port = closed_port()
    with black_hole() as hole_port:
        config = write_settings(
            scene.sandbox_dir,
            scene.workdir / "controller.yaml",
            {
                "dead": webhook(f"http://127.0.0.1:{dead_port}/hook", SECRET_ENV),
                "hole": webhook(f"http://127.0.0.1:{hole_port}/hook", SECRET_ENV, HOLE_TIMEOUT),
            },
            retry=GIVE_UP,
        )
        daemon = start_daemon(config, env={SECRET_ENV: "dead-secret"})
        scene.apply_probe_route()
        probe = scene.new_shift(
            "probe", alerts=[], spec={"virtualService": PROBE_ROUTE, "destinationRule": PROBE_ROUTE}
        )
        scene.apply(probe)
        # Holding once the step's first analysis window (10s) shows no canary traffic.
        scene.wait_phase(probe.name, "Holding", timeout=25)
        scene.fault_canary(error_rate=0.3)
        shift = scene.new_shift(
            "dead",
            alerts=[
                {"provider": "dead", "events": ["rollback"]},
                {"provider": "hole", "events": ["rollback"]},
            ],
        )
        window_start = datetime.now(UTC)  # the probe's checks must keep their cadence
        scene.apply(shift)
        rolled_back, back_on_v1 = scene.wait_rolled_back(shift.name, ROLLBACK_DEADLINE)
        retrying = poll(
            "both alerts to wait in the outbox after failed attempts",
            lambda: all_retrying(scene, shift.name),
            timeout=10,
            every=0.1,
        )
        poll("an empty outbox", lambda: not pending(scene, shift.name), timeout=30)

        assert back_on_v1.at - rolled_back.at < 1.0, "the route waited for the receivers"
        assert rollback_lag(scene.status(shift.name)) <= ROLLBACK_AFTER_FIRST_FAILURE
        errors = {a["provider"]: a["lastError"] for a in retrying}
        assert errors["dead"].startswith(f"http://127.0.0.1:{dead_port}/***: could not connect")
        assert errors["hole"].startswith(f"http://127.0.0.1:{hole_port}/***: no answer within")
        assert all(a["nextAttemptAt"] > a["createdAt"] for a in retrying)
        # Checks come every interval, one tick period late at worst; a daemon whose other
        # ticks waited for the black hole would show gaps of HOLE_TIMEOUT and more. (The log,
        # not the status: a check that changes no verdict is written only every few rounds.)
        checks = probe_check_times(daemon, probe.name, window_start, datetime.now(UTC))
        assert longest_gap(checks) <= CHECK_INTERVAL + 1.5, checks
        count, buckets = tick_histogram(daemon)
        assert buckets[HOLE_TIMEOUT + 2] == count, f"a tick outlasted one timeout: {buckets}"
        hole_attempts = len(daemon.find("alerts.delivery_failed", provider="hole")) + 1
        slow_ticks = count - buckets[1.0]
        assert slow_ticks <= hole_attempts, f"{slow_ticks} slow ticks: {buckets}"
        assert scene.status(shift.name)["phase"] == "RolledBack"

        events = scene.wait_events(shift.name, "AlertUndeliverable", 2, timeout=5)
    assert {e["type"] for e in events} == {"Warning"}
    for provider in ("dead", "hole"):
        assert any(f"to provider '{provider}'" in e["message"] for e in events), provider
