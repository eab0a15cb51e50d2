"""A real rollback in pipeline mode reaches people through the sandbox's real Alertmanager:
exactly one TrafficShiftRolledBack notification, carrying the facts an on-call engineer needs."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.alerting.processes import run_pipeline
from tests.integration.alerting.sampling import stays
from tests.integration.alerting.scene import Scene
from tests.integration.sandbox_fixtures import poll

EXIT_ROLLED_BACK = 3
GROUP_INTERVAL = 1.0  # the sandbox Alertmanager's group_wait and group_interval
ROLLBACK_ROUTE = [{"provider": "sandbox", "events": ["rollback"]}]


def gate_status(status: dict[str, Any], name: str) -> dict[str, Any]:
    gate: dict[str, Any] = next(g for g in status["gates"] if g["name"] == name)
    return gate


def rollback_time(status: dict[str, Any]) -> str:
    """The RolledBack history entry's time as the dedup key writes it (UTC, to the second)."""
    entry = next(e for e in status["history"] if e["reason"] == "RolledBack")
    return datetime.fromisoformat(entry["time"]).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_rollback_sends_exactly_one_alertmanager_alert_with_the_facts(scene: Scene) -> None:
    """A v3 fault rolls `weightgate run` back (exit 3) and the sink gets one rollback alert
    whose labels and annotations state the gate, value, step, weight, query and what to run."""
    scene.fault_canary(error_rate=0.3)
    shift = scene.new_shift("am-rollback", alerts=ROLLBACK_ROUTE)

    result = run_pipeline(scene.sandbox_dir, shift.path, scene.workdir / "run.log")

    assert result.code == EXIT_ROLLED_BACK, result.output
    status = scene.status(shift.name)
    assert status.get("pendingAlerts", []) == [], "run exited with the alert still owed"
    (firing,) = status["firingAlerts"]
    poll(
        "the rollback alert at the sink",
        lambda: scene.sink.alertmanager_alerts(shift.name) or None,
        timeout=15,
    )
    stays(
        "the alerts for the shift at the sink",
        lambda: [a["annotations"]["dedup_key"] for a in scene.sink.alertmanager_alerts(shift.name)],
        [firing["dedupKey"]],
        seconds=4 * GROUP_INTERVAL,
    )
    (alert,) = scene.sink.alertmanager_alerts(shift.name)

    assert alert["status"] == "firing"
    assert alert["labels"] == {
        "alertname": "TrafficShiftRolledBack",
        "namespace": "bookinfo",
        "trafficshift": shift.name,
        "virtualservice": "reviews",
        "severity": "critical",
    }
    notes = alert["annotations"]
    error_rate = gate_status(status, "error-rate")
    assert error_rate["verdict"] == "Fail"
    assert notes["gate"] == "error-rate"
    assert float(notes["value"]) > 1
    assert float(notes["value"]) == pytest.approx(error_rate["value"], rel=1e-5)
    assert notes["threshold"] == "<= 1"
    assert notes["step"] == "1/2"
    assert notes["weight"] == "50%"
    assert notes["query"] == error_rate["query"]
    assert 'destination_version="v3"' in notes["query"]
    assert 'response_code=~"5.."' in notes["query"]
    graph = urlsplit(notes["graph_url"])
    assert f"{graph.scheme}://{graph.netloc}" == scene.info.prometheus
    assert graph.path == "/graph"
    assert parse_qs(graph.query)["g0.expr"] == [notes["query"]]
    assert notes["kubectl"] == f"kubectl -n bookinfo describe trafficshift {shift.name}"
    assert notes["dedup_key"] == firing["dedupKey"]
    assert notes["dedup_key"] == f"bookinfo/{shift.name}/1/rollback/{rollback_time(status)}"
    assert notes["summary"].startswith(
        f"TrafficShift bookinfo/{shift.name} rolled back to 'v1' at step 1/2 "
        "(50% to canary 'v3'): gate 'error-rate' value "
    )


def test_a_sequential_rollback_alert_carries_the_evidence_behind_it(scene: Scene) -> None:
    """Under the sequential judge the rollback alert names the counts, the e-value and the
    bound it crossed, as the status does."""
    scene.fault_canary(error_rate=0.2)
    shift = scene.new_shift("am-evidence", alerts=ROLLBACK_ROUTE, judge="sequential")

    result = run_pipeline(scene.sandbox_dir, shift.path, scene.workdir / "run.log")

    assert result.code == EXIT_ROLLED_BACK, result.output
    status = scene.status(shift.name)
    error_rate = gate_status(status, "error-rate")
    assert (error_rate["judge"], error_rate["verdict"]) == ("sequential", "Fail")
    poll(
        "the rollback alert at the sink",
        lambda: scene.sink.alertmanager_alerts(shift.name) or None,
        timeout=15,
    )
    (alert,) = scene.sink.alertmanager_alerts(shift.name)
    notes = alert["annotations"]
    assert notes["evidence"] == error_rate["message"]
    evidence = error_rate["evidence"]
    assert f"{evidence['canaryEvents']}/{evidence['canaryRequests']}" in notes["evidence"]
    assert "against 'canary 5xx share <= 1%', bound 200 (confidence 0.99)" in notes["evidence"]
    assert "evidence refutes a gate" in notes["description"]
