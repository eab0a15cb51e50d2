"""Alertmanager API v2 payloads: ``POST /api/v2/alerts`` with a JSON list of alerts.

Labels identify the alert (Alertmanager fingerprints the label set), so they hold only what is
stable for one shift: alertname, namespace, trafficshift, virtualservice, severity. Everything
that varies per occurrence (step, gate, value, dedup_key...) is an annotation. A resolve carries
the same labels with ``endsAt`` in the past, which is how Alertmanager learns an alert ended.

A firing rollback alert gets an explicit ``endsAt`` (``rollbackFiringFor`` ahead) so it does not
resolve itself after Alertmanager's resolve_timeout (5m) while the shift is still rolled back;
other events are notices and take the resolve_timeout.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from controller.alerts import render
from controller.alerts.pending import AlertState, PendingAlert
from controller.api.trafficshift import AlertEvent

ALERTS_PATH = "/api/v2/alerts"


def alert_labels(alert: PendingAlert) -> dict[str, str]:
    facts = alert.facts
    return {
        "alertname": render.ALERT_NAMES[alert.event],
        "namespace": facts.namespace,
        "trafficshift": facts.shift,
        "virtualservice": facts.virtual_service,
        "severity": alert.severity.value,
    }


def alert_annotations(alert: PendingAlert, external_url: str | None) -> dict[str, str]:
    facts = alert.facts
    notes = {
        "summary": render.summary(alert),
        "description": render.description(alert),
        "step": render.step_text(facts),
        "weight": f"{facts.weight}%",
        "kubectl": render.kubectl_command(facts),
        "dedup_key": alert.dedup_key,
    }
    gate = facts.gate
    if gate is not None:
        notes.update(
            gate=gate.name,
            value=render.format_value(gate.value),
            threshold=gate.threshold,
            query=gate.query,
        )
        if gate.evidence:
            notes["evidence"] = gate.evidence
        link = render.graph_url(external_url, gate.query)
        if link is not None:
            notes["graph_url"] = link
    return notes


def alertmanager_alerts(
    alert: PendingAlert, *, external_url: str | None, rollback_firing_for: timedelta
) -> list[dict[str, Any]]:
    """The request body: a list holding the one alert."""
    body: dict[str, Any] = {
        "labels": alert_labels(alert),
        "annotations": alert_annotations(alert, external_url),
        "startsAt": render.format_time(alert.starts_at),
    }
    if alert.state is AlertState.RESOLVED and alert.ends_at is not None:
        body["endsAt"] = render.format_time(alert.ends_at)
    elif alert.event is AlertEvent.ROLLBACK:
        body["endsAt"] = render.format_time(alert.starts_at + rollback_firing_for)
    gate = alert.facts.gate
    link = render.graph_url(external_url, gate.query) if gate is not None else None
    if link is not None:
        body["generatorURL"] = link
    return [body]
