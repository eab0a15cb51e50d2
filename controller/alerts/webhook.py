"""The generic webhook: a JSON body with every fact, signed with a shared secret.

``X-Weightgate-Signature: sha256=<hex>`` is the HMAC-SHA256 of the exact body bytes, keyed with
the provider's shared secret. The send time is not a separate header but the body's ``sentAt``
field, so it is covered by the same signature with no second canonical form for receivers to
rebuild: a receiver verifies the bytes it got (`verify_signature`), may then reject a ``sentAt``
older than it accepts (replay), and drops repeats by ``dedupKey`` (delivery is at-least-once).
Every retry is signed anew with its own ``sentAt``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from controller.alerts import render
from controller.alerts.pending import PendingAlert

SIGNATURE_HEADER = "X-Weightgate-Signature"
SIGNATURE_PREFIX = "sha256="
BODY_VERSION = "1"


def webhook_payload(
    alert: PendingAlert, *, external_url: str | None, sent_at: datetime
) -> dict[str, Any]:
    facts = alert.facts
    gate: dict[str, Any] | None = None
    if facts.gate is not None:
        gate = {
            "name": facts.gate.name,
            "value": facts.gate.value,
            "threshold": facts.gate.threshold,
            "query": facts.gate.query,
            "graphUrl": render.graph_url(external_url, facts.gate.query),
        }
        if facts.gate.evidence:
            gate["evidence"] = facts.gate.evidence
    return {
        "version": BODY_VERSION,
        "dedupKey": alert.dedup_key,
        "event": alert.event.value,
        "state": alert.state.value,
        "alertname": render.ALERT_NAMES[alert.event],
        "severity": alert.severity.value,
        "summary": render.summary(alert),
        "description": render.description(alert),
        "reason": facts.reason,
        "trafficShift": {
            "namespace": facts.namespace,
            "name": facts.shift,
            "generation": facts.generation,
            "virtualService": facts.virtual_service,
            "stable": facts.stable,
            "canary": facts.canary,
        },
        "step": facts.step,
        "steps": facts.steps,
        "weight": facts.weight,
        "gate": gate,
        "kubectl": render.kubectl_command(facts),
        "startsAt": render.format_time(alert.starts_at),
        "endsAt": render.format_time(alert.ends_at) if alert.ends_at else None,
        "sentAt": render.format_time(sent_at),
    }


def encode(payload: dict[str, Any]) -> bytes:
    """Compact, key-sorted UTF-8 JSON: the bytes that are sent and signed."""
    text = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode()


def _secret_bytes(secret: str | bytes) -> bytes:
    return secret if isinstance(secret, bytes) else secret.encode()


def sign(body: bytes, secret: str | bytes) -> str:
    """The X-Weightgate-Signature header value for `body`."""
    digest = hmac.new(_secret_bytes(secret), body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_PREFIX}{digest}"


def verify_signature(body: bytes, header: str | None, secret: str | bytes) -> bool:
    """True when `header` is the signature of exactly `body` under `secret` (constant time)."""
    given = (header or "").strip()
    if not given.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(sign(body, secret).encode(), given.encode())
