"""The generic webhook: the JSON body's facts and its HMAC-SHA256 signature."""

from __future__ import annotations

import hashlib
import hmac
import json

from controller.alerts import verify_signature, webhook_payload
from controller.alerts.webhook import encode, sign
from tests.unit.alerts.builders import QUERY, T0, WEBHOOK_SECRET, at, rollback_alert

EXTERNAL = "http://prometheus.example:9090"


def test_body_carries_every_fact_of_the_rollback() -> None:
    body = webhook_payload(rollback_alert(), external_url=EXTERNAL, sent_at=at(5))
    assert body["gate"]["graphUrl"].startswith(f"{EXTERNAL}/graph?g0.expr=sum%28rate")
    assert {**body, "gate": {**body["gate"], "graphUrl": "..."}} == {
        "version": "1",
        "dedupKey": "bookinfo/reviews-v3/3/rollback/2024-05-01T12:00:00Z",
        "event": "rollback",
        "state": "firing",
        "alertname": "TrafficShiftRolledBack",
        "severity": "critical",
        "summary": body["summary"],
        "description": body["description"],
        "reason": "RolledBack",
        "trafficShift": {
            "namespace": "bookinfo",
            "name": "reviews-v3",
            "generation": 3,
            "virtualService": "reviews",
            "stable": "v1",
            "canary": "v3",
        },
        "step": 2,
        "steps": 3,
        "weight": 50,
        "gate": {
            "name": "error-rate",
            "value": 5.2,
            "threshold": "<= 1",
            "query": QUERY,
            "graphUrl": "...",
        },
        "kubectl": "kubectl -n bookinfo describe trafficshift reviews-v3",
        "startsAt": "2024-05-01T12:00:00Z",
        "endsAt": None,
        "sentAt": "2024-05-01T12:00:05Z",
    }
    assert body["summary"].startswith("TrafficShift bookinfo/reviews-v3 rolled back")


def test_signature_is_hex_hmac_sha256_of_the_exact_body() -> None:
    body = encode(webhook_payload(rollback_alert(), external_url=None, sent_at=T0))
    expected = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sign(body, WEBHOOK_SECRET) == f"sha256={expected}"
    assert verify_signature(body, f"sha256={expected}", WEBHOOK_SECRET)


def test_tampered_body_fails_verification() -> None:
    body = encode(webhook_payload(rollback_alert(), external_url=None, sent_at=T0))
    header = sign(body, WEBHOOK_SECRET)
    tampered = body.replace(b'"weight":50', b'"weight":5')
    assert tampered != body
    assert not verify_signature(tampered, header, WEBHOOK_SECRET)


def test_wrong_secret_missing_or_malformed_header_fail_verification() -> None:
    body = encode(webhook_payload(rollback_alert(), external_url=None, sent_at=T0))
    header = sign(body, WEBHOOK_SECRET)
    assert not verify_signature(body, header, "another-secret")
    assert not verify_signature(body, None, WEBHOOK_SECRET)
    assert not verify_signature(body, header.removeprefix("sha256="), WEBHOOK_SECRET)
    assert not verify_signature(body, "sha256=", WEBHOOK_SECRET)


def test_sent_time_is_inside_the_signed_body() -> None:
    first = encode(webhook_payload(rollback_alert(), external_url=None, sent_at=T0))
    retry = encode(webhook_payload(rollback_alert(), external_url=None, sent_at=at(1)))
    assert json.loads(retry)["sentAt"] == "2024-05-01T12:00:01Z"
    assert not verify_signature(retry, sign(first, WEBHOOK_SECRET), WEBHOOK_SECRET)
