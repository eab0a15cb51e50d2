"""Slack incoming-webhook messages: a plain `text` fallback plus Block Kit `blocks`.

`text` is what notifications and screen readers show, so it carries the whole summary; the
blocks lay out the same facts (message, gate, value, threshold, step, weight, query with its
graph link, the kubectl command). Everything taken from a shift is escaped for Slack's mrkdwn,
where ``<``, ``>`` and ``&`` are control characters (thresholds such as ``<= 1`` contain them).
"""

from __future__ import annotations

from typing import Any

from controller.alerts import render
from controller.alerts.pending import AlertState, PendingAlert, Severity

HEADER_MAX_CHARS = 150  # Slack's limit for a header block's text
SECTION_MAX_CHARS = 3000  # Slack's limit for a section's text

_MARKS = {Severity.CRITICAL: ":red_circle:", Severity.WARNING: ":warning:", Severity.INFO: ":ok:"}
RESOLVED_MARK = ":white_check_mark:"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mark(alert: PendingAlert) -> str:
    return RESOLVED_MARK if alert.state is AlertState.RESOLVED else _MARKS[alert.severity]


def text(alert: PendingAlert) -> str:
    return f"{mark(alert)} {escape(render.summary(alert))}"


def _fields(alert: PendingAlert) -> list[dict[str, str]]:
    facts = alert.facts
    pairs = [
        ("Step", render.step_text(facts)),
        ("Weight", f"{facts.weight}% to '{facts.canary}'"),
        ("VirtualService", facts.virtual_service),
        ("Severity", alert.severity.value),
    ]
    if facts.gate is not None:
        pairs[:0] = [
            ("Gate", facts.gate.name),
            ("Value", render.format_value(facts.gate.value)),
            ("Threshold", facts.gate.threshold or "-"),
        ]
        if facts.gate.evidence:
            pairs.append(("Evidence", facts.gate.evidence))
    return [{"type": "mrkdwn", "text": f"*{name}*\n{escape(value)}"} for name, value in pairs]


def _query_block(alert: PendingAlert, external_url: str | None) -> dict[str, Any] | None:
    gate = alert.facts.gate
    if gate is None or not gate.query:
        return None
    body = f"*Query*\n```{escape(gate.query)}```"
    link = render.graph_url(external_url, gate.query)
    if link is not None:
        body += f"\n<{link}|Open in Prometheus>"
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(body, SECTION_MAX_CHARS)}}


def slack_message(alert: PendingAlert, *, external_url: str | None) -> dict[str, Any]:
    """The JSON body POSTed to the incoming webhook."""
    header = f"{mark(alert)} {render.title(alert)}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(header, HEADER_MAX_CHARS)}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _clip(escape(render.description(alert)), SECTION_MAX_CHARS),
            },
        },
        {"type": "section", "fields": _fields(alert)},
    ]
    query = _query_block(alert, external_url)
    if query is not None:
        blocks.append(query)
    context = f"`{escape(render.kubectl_command(alert.facts))}` · dedup {escape(alert.dedup_key)}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": text(alert), "blocks": blocks}
