"""A rollback alert through the real Alertmanager reaches the sink once, then as resolved."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from controller.alerts import AlertSettings, Dispatcher, resolving_alert
from controller.sandbox.promstack import AlertmanagerProcess, PythonModuleProcess
from tests.integration.alerts.conftest import QUERY, rollback_for, unique_shift
from tests.integration.promstack.helpers import poll_until

pytestmark = pytest.mark.integration

EXTERNAL = "http://prometheus.example:9090"


def _notified(sink_url: str, shift: str) -> list[dict[str, Any]]:
    """Every alert about `shift` in every webhook notification the sink received."""
    received = requests.get(f"{sink_url}/received", timeout=5).json()["received"]
    return [
        alert
        for delivery in received
        for alert in delivery["body"].get("alerts", [])
        if alert["labels"].get("trafficshift") == shift
    ]


def _with_status(sink_url: str, shift: str, status: str) -> list[dict[str, Any]] | None:
    found = [a for a in _notified(sink_url, shift) if a["status"] == status]
    return found or None


def test_rollback_alert_reaches_the_sink_once_then_its_resolve_arrives_resolved(
    alertmanager: AlertmanagerProcess, sink_process: PythonModuleProcess
) -> None:
    shift = unique_shift()
    settings = AlertSettings.model_validate(
        {
            "providers": {"oncall": {"type": "alertmanager", "url": alertmanager.url}},
            "prometheusExternalUrl": EXTERNAL,
        }
    )
    firing = rollback_for(shift, "oncall", datetime.now(UTC))
    with Dispatcher(settings) as dispatcher:
        assert dispatcher.dispatch([firing], datetime.now(UTC)).delivered == (firing,)
        (alert,) = poll_until(
            lambda: _with_status(sink_process.url, shift, "firing"),
            timeout=5,
            what="the rollback alert at the sink",
            interval=0.1,
        )
        assert alert["labels"] == {
            "alertname": "TrafficShiftRolledBack",
            "namespace": "bookinfo",
            "trafficshift": shift,
            "virtualservice": "reviews",
            "severity": "critical",
        }
        notes = alert["annotations"]
        assert notes["gate"] == "error-rate"
        assert (notes["value"], notes["threshold"]) == ("5.2", "<= 1")
        assert (notes["step"], notes["weight"]) == ("2/3", "50%")
        assert notes["query"] == QUERY
        assert notes["graph_url"].startswith(f"{EXTERNAL}/graph?g0.expr=sum%28rate")
        assert notes["kubectl"] == f"kubectl -n bookinfo describe trafficshift {shift}"
        assert notes["dedup_key"] == firing.dedup_key
        assert notes["summary"].startswith(f"TrafficShift bookinfo/{shift} rolled back")
        assert alert["generatorURL"] == notes["graph_url"]

        resolve = resolving_alert(firing, datetime.now(UTC))
        assert dispatcher.dispatch([resolve], datetime.now(UTC)).delivered == (resolve,)
        (resolved,) = poll_until(
            lambda: _with_status(sink_process.url, shift, "resolved"),
            timeout=5,
            what="the resolved alert at the sink",
            interval=0.1,
        )
    assert resolved["labels"] == alert["labels"]
    assert resolved["endsAt"].startswith(resolve.ends_at.strftime("%Y-%m-%dT%H:%M:%S"))
    # The resolve went out after the group's next flush, so a repeat would be here by now.
    assert len(_with_status(sink_process.url, shift, "firing") or []) == 1
