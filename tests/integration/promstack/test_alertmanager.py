"""Alerts reach the sink through the real Alertmanager, from the API and from Prometheus rules."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from controller.sandbox.promstack import AlertmanagerProcess, PrometheusProcess, PythonModuleProcess
from tests.integration.promstack.helpers import poll_until

pytestmark = pytest.mark.integration


def delivered_alerts(sink_url: str, **labels: str) -> list[dict[str, Any]]:
    """Alerts carrying `labels` among every webhook payload the sink received."""
    received = requests.get(f"{sink_url}/received", timeout=5).json()["received"]
    return [
        alert
        for delivery in received
        for alert in delivery["body"].get("alerts", [])
        if all(alert["labels"].get(k) == v for k, v in labels.items())
    ]


def test_alert_posted_to_alertmanager_reaches_sink_within_5_seconds(
    alertmanager: AlertmanagerProcess, sink_process: PythonModuleProcess
) -> None:
    marker = uuid.uuid4().hex
    alert = {
        "labels": {"alertname": "WeightgateRollback", "shift": marker, "severity": "critical"},
        "annotations": {"summary": "canary v3 rolled back"},
    }
    posted_at = time.monotonic()
    response = requests.post(f"{alertmanager.url}/api/v2/alerts", json=[alert], timeout=5)
    assert response.status_code == 200
    alerts = poll_until(
        lambda: delivered_alerts(sink_process.url, shift=marker) or None,
        timeout=5,
        what="the alert at the sink",
        interval=0.1,
    )
    assert time.monotonic() - posted_at < 5
    assert alerts[0]["status"] == "firing"
    assert alerts[0]["annotations"] == {"summary": "canary v3 rolled back"}


def test_webhook_payload_is_alertmanager_format(
    alertmanager: AlertmanagerProcess, sink_process: PythonModuleProcess
) -> None:
    marker = uuid.uuid4().hex
    requests.post(
        f"{alertmanager.url}/api/v2/alerts",
        json=[{"labels": {"alertname": "FormatCheck", "shift": marker}}],
        timeout=5,
    ).raise_for_status()

    def payload() -> dict[str, Any] | None:
        received = requests.get(f"{sink_process.url}/received", timeout=5).json()["received"]
        for delivery in received:
            if delivery["body"].get("commonLabels", {}).get("shift") == marker:
                return dict(delivery["body"])
        return None

    body = poll_until(payload, timeout=5, what="the webhook payload", interval=0.1)
    assert body["version"] == "4"
    assert body["receiver"] == "sink"
    assert body["status"] == "firing"


def test_prometheus_rule_fires_through_alertmanager_to_sink(
    alertmanager: AlertmanagerProcess, sink_process: PythonModuleProcess, tmp_path: Path
) -> None:
    marker = uuid.uuid4().hex
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "groups:\n"
        "  - name: sandbox\n"
        "    rules:\n"
        "      - alert: AlwaysFiring\n"
        "        expr: vector(1)\n"
        f"        labels: {{shift: '{marker}'}}\n"
    )
    prometheus = PrometheusProcess(
        [], tmp_path, rule_files=[rules], alertmanager_urls=[alertmanager.url]
    )
    with prometheus:
        prometheus.start()
        # Prometheus hands over the Alertmanager address on its 5 s discovery tick.
        alerts = poll_until(
            lambda: delivered_alerts(sink_process.url, shift=marker) or None,
            timeout=15,
            what="the rule's alert at the sink",
        )
    assert alerts[0]["labels"]["alertname"] == "AlwaysFiring"
