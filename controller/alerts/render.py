"""The words and links every provider shows: alert names, summaries, graph link, kubectl.

One place for the facts' human form, so Alertmanager, Slack and the webhook tell the same story
with the same numbers.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from controller.alerts.pending import AlertFacts, AlertState, PendingAlert, Severity
from controller.api.trafficshift import AlertEvent

ALERT_NAMES: dict[AlertEvent, str] = {
    AlertEvent.ROLLBACK: "TrafficShiftRolledBack",
    AlertEvent.PROMOTED: "TrafficShiftPromoted",
    AlertEvent.HOLDING: "TrafficShiftHolding",
    AlertEvent.DRIFT: "TrafficShiftDrift",
    AlertEvent.INVALID: "TrafficShiftInvalid",
}

SEVERITIES: dict[AlertEvent, Severity] = {
    AlertEvent.ROLLBACK: Severity.CRITICAL,
    AlertEvent.PROMOTED: Severity.INFO,
    AlertEvent.HOLDING: Severity.WARNING,
    AlertEvent.DRIFT: Severity.WARNING,
    AlertEvent.INVALID: Severity.WARNING,
}


def format_value(value: float | None) -> str:
    return "no data" if value is None else f"{value:.6g}"


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with seconds, e.g. 2024-05-01T12:00:00Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def step_text(facts: AlertFacts) -> str:
    return f"{facts.step}/{facts.steps}"


def shift_ref(facts: AlertFacts) -> str:
    return f"{facts.namespace}/{facts.shift}"


def kubectl_command(facts: AlertFacts) -> str:
    return f"kubectl -n {facts.namespace} describe trafficshift {facts.shift}"


def graph_url(external_url: str | None, query: str) -> str | None:
    """Prometheus's graph page for `query`, or None without an external URL or a query."""
    if not external_url or not query:
        return None
    return f"{external_url.rstrip('/')}/graph?g0.expr={quote(query, safe='')}&g0.tab=0"


def _position(facts: AlertFacts) -> str:
    return f"step {step_text(facts)} ({facts.weight}% to canary '{facts.canary}')"


def _gate_clause(facts: AlertFacts) -> str:
    gate = facts.gate
    if gate is None:
        return ""
    threshold = f" (threshold '{gate.threshold}')" if gate.threshold else ""
    return f": gate '{gate.name}' value {format_value(gate.value)}{threshold}"


def summary(alert: PendingAlert) -> str:
    """One line that says what happened to which shift."""
    facts = alert.facts
    ref = f"TrafficShift {shift_ref(facts)}"
    if alert.state is AlertState.RESOLVED:
        return f"{ref} succeeded after its rollback at {_position(facts)}: resolved"
    if alert.event is AlertEvent.ROLLBACK:
        return f"{ref} rolled back to '{facts.stable}' at {_position(facts)}{_gate_clause(facts)}"
    if alert.event is AlertEvent.PROMOTED:
        return f"{ref} promoted canary '{facts.canary}' on VirtualService {facts.virtual_service}"
    if alert.event is AlertEvent.HOLDING:
        return f"{ref} is holding at {_position(facts)}{_gate_clause(facts)}"
    if alert.event is AlertEvent.DRIFT:
        return (
            f"{ref}: VirtualService {facts.virtual_service} weights were changed outside "
            f"weightgate at {_position(facts)}"
        )
    return f"{ref} is invalid and does not run"


def description(alert: PendingAlert) -> str:
    """The transition's full message; a resolve says what ended it."""
    facts = alert.facts
    if alert.state is AlertState.RESOLVED:
        ended = format_time(alert.ends_at) if alert.ends_at else "now"
        return (
            f"Resolved at {ended}: TrafficShift {shift_ref(facts)} later succeeded with a new "
            f"spec. The rollback was: {facts.message}"
        )
    return facts.message


def title(alert: PendingAlert) -> str:
    """A short headline, e.g. 'TrafficShift rolled back: bookinfo/reviews'."""
    what = {
        AlertEvent.ROLLBACK: "rolled back",
        AlertEvent.PROMOTED: "promoted",
        AlertEvent.HOLDING: "holding",
        AlertEvent.DRIFT: "weights drifted",
        AlertEvent.INVALID: "invalid",
    }[alert.event]
    if alert.state is AlertState.RESOLVED:
        what = f"{what} (resolved)"
    return f"TrafficShift {what}: {shift_ref(alert.facts)}"
