"""Alertmanager API v2 alerts: exact labels, annotations, times and graph link."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, quote, urlsplit

from controller.alerts import alertmanager_alerts, alerts_for, resolving_alert
from tests.unit.alerts.builders import (
    QUERY,
    ROLLBACK_MESSAGE,
    T0,
    at,
    promoted,
    rollback_alert,
    rolled_back_facts,
    routes,
)

EXTERNAL = "http://prometheus.example:9090"
WEEK = timedelta(days=7)
GRAPH = f"{EXTERNAL}/graph?g0.expr={quote(QUERY, safe='')}&g0.tab=0"


def test_rollback_alert_has_exact_labels() -> None:
    (body,) = alertmanager_alerts(rollback_alert(), external_url=EXTERNAL, rollback_firing_for=WEEK)
    assert body["labels"] == {
        "alertname": "TrafficShiftRolledBack",
        "namespace": "bookinfo",
        "trafficshift": "reviews-v3",
        "virtualservice": "reviews",
        "severity": "critical",
    }


def test_rollback_alert_annotations_carry_gate_value_threshold_step_weight_query_and_links() -> (
    None
):
    (body,) = alertmanager_alerts(rollback_alert(), external_url=EXTERNAL, rollback_firing_for=WEEK)
    assert body["annotations"] == {
        "summary": "TrafficShift bookinfo/reviews-v3 rolled back to 'v1' at step 2/3 (50% to "
        "canary 'v3'): gate 'error-rate' value 5.2 (threshold '<= 1')",
        "description": ROLLBACK_MESSAGE,
        "gate": "error-rate",
        "value": "5.2",
        "threshold": "<= 1",
        "step": "2/3",
        "weight": "50%",
        "query": QUERY,
        "graph_url": GRAPH,
        "kubectl": "kubectl -n bookinfo describe trafficshift reviews-v3",
        "dedup_key": "bookinfo/reviews-v3/3/rollback/2024-05-01T12:00:00Z",
    }


def test_graph_link_is_prometheus_graph_page_with_urlencoded_query() -> None:
    (body,) = alertmanager_alerts(rollback_alert(), external_url=EXTERNAL, rollback_firing_for=WEEK)
    assert body["generatorURL"] == GRAPH
    params = parse_qs(urlsplit(body["generatorURL"]).query)
    assert params == {"g0.expr": [QUERY], "g0.tab": ["0"]}


def test_firing_rollback_ends_after_the_configured_period_not_the_resolve_timeout() -> None:
    (body,) = alertmanager_alerts(rollback_alert(), external_url=EXTERNAL, rollback_firing_for=WEEK)
    assert body["startsAt"] == "2024-05-01T12:00:00Z"
    assert body["endsAt"] == "2024-05-08T12:00:00Z"


def test_resolving_alert_keeps_labels_and_ends_now() -> None:
    firing = rollback_alert()
    resolved = resolving_alert(firing, at(3600))
    (fired,) = alertmanager_alerts(firing, external_url=EXTERNAL, rollback_firing_for=WEEK)
    (body,) = alertmanager_alerts(resolved, external_url=EXTERNAL, rollback_firing_for=WEEK)
    assert body["labels"] == fired["labels"]
    assert body["startsAt"] == "2024-05-01T12:00:00Z"
    assert body["endsAt"] == "2024-05-01T13:00:00Z"
    assert body["annotations"]["dedup_key"] == fired["annotations"]["dedup_key"]
    assert body["annotations"]["summary"].endswith(": resolved")


def test_promoted_alert_is_info_without_gate_and_without_end() -> None:
    (alert,) = alerts_for([promoted()], routes(("oncall", ["promoted"])), rolled_back_facts(), T0)
    (body,) = alertmanager_alerts(alert, external_url=EXTERNAL, rollback_firing_for=WEEK)
    assert body["labels"]["alertname"] == "TrafficShiftPromoted"
    assert body["labels"]["severity"] == "info"
    assert "gate" not in body["annotations"]
    assert "endsAt" not in body
    assert "generatorURL" not in body


def test_no_external_url_means_no_graph_link() -> None:
    (body,) = alertmanager_alerts(rollback_alert(), external_url=None, rollback_firing_for=WEEK)
    assert "graph_url" not in body["annotations"]
    assert "generatorURL" not in body
    assert body["annotations"]["query"] == QUERY
