"""The signed webhook and Slack messages against the sandbox sink: bodies, signatures, retries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from controller.alerts import AlertSettings, Dispatcher, SecretResolver, verify_signature
from controller.alerts.transport import HttpAnswer, HttpRequest, RequestsTransport
from controller.alerts.webhook import SIGNATURE_HEADER, encode
from controller.sandbox.sink import SinkServer
from tests.integration.alerts.conftest import rollback_for, unique_shift
from tests.integration.alerts.receivers import raw_recorder

pytestmark = pytest.mark.integration

SECRET = "shared-secret-for-tests"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class SpyTransport:
    """The real transport, keeping a copy of each request (our own seam)."""

    def __init__(self) -> None:
        self.real = RequestsTransport()
        self.sent: list[HttpRequest] = []

    def post(self, request: HttpRequest) -> HttpAnswer:
        self.sent.append(request)
        return self.real.post(request)


def _webhook_settings(url: str) -> AlertSettings:
    return AlertSettings.model_validate(
        {"providers": {"hook": {"type": "webhook", "url": url, "secret": {"env": "HOOK_SECRET"}}}}
    )


def _resolver() -> SecretResolver:
    return SecretResolver(environ={"HOOK_SECRET": SECRET})


def _received(sink_url: str) -> dict[str, Any]:
    answer: dict[str, Any] = requests.get(f"{sink_url}/received", timeout=5).json()
    return answer


def test_body_recorded_by_the_sink_verifies_with_the_shared_secret(
    sink_server: SinkServer,
) -> None:
    shift = unique_shift()
    spy = SpyTransport()
    settings = _webhook_settings(f"{sink_server.url}/weightgate")
    with Dispatcher(settings, secrets=_resolver(), transport=spy) as dispatcher:
        report = dispatcher.dispatch([rollback_for(shift, "hook", T0)], T0)
    assert len(report.delivered) == 1
    (delivery,) = _received(sink_server.url)["received"]
    assert delivery["path"] == "/weightgate"
    assert delivery["body"]["trafficShift"]["name"] == shift
    assert delivery["body"]["gate"]["value"] == 5.2
    # The body is canonical JSON, so the sink's parsed copy re-encodes to the signed bytes.
    recorded = encode(delivery["body"])
    header = spy.sent[0].headers[SIGNATURE_HEADER]
    assert recorded == spy.sent[0].body
    assert verify_signature(recorded, header, SECRET)
    tampered = encode({**delivery["body"], "weight": 0})
    assert not verify_signature(tampered, header, SECRET)


def test_exact_bytes_received_verify_and_a_tampered_copy_does_not() -> None:
    with raw_recorder() as receiver:
        settings = _webhook_settings(f"{receiver.url}/hook")
        with Dispatcher(settings, secrets=_resolver()) as dispatcher:
            dispatcher.dispatch([rollback_for(unique_shift(), "hook", T0)], T0)
        (delivery,) = receiver.deliveries
    header = delivery.headers[SIGNATURE_HEADER]
    assert header.startswith("sha256=")
    assert delivery.headers["Content-Type"] == "application/json"
    assert verify_signature(delivery.body, header, SECRET)
    assert not verify_signature(delivery.body.replace(b"5.2", b"0.2"), header, SECRET)
    assert not verify_signature(delivery.body, header, "not-the-secret")


def test_webhook_is_delivered_after_the_sink_refuses_three_times(sink_server: SinkServer) -> None:
    requests.post(
        f"{sink_server.url}/admin/fail", json={"status": 503, "times": 3}, timeout=5
    ).raise_for_status()
    settings = _webhook_settings(f"{sink_server.url}/hook")
    pending = [rollback_for(unique_shift(), "hook", T0)]
    now = T0
    attempts_seen = []
    with Dispatcher(settings, secrets=_resolver()) as dispatcher:
        for _ in range(4):
            assert dispatcher.dispatch(pending, now - timedelta(milliseconds=1)).attempted == 0
            report = dispatcher.dispatch(pending, now)
            pending = list(report.pending)
            if not pending:
                break
            attempts_seen.append(pending[0].attempts)
            assert "HTTP 503" in pending[0].last_error
            now = pending[0].next_attempt_at
    assert attempts_seen == [1, 2, 3]
    assert len(report.delivered) == 1
    received = _received(sink_server.url)
    assert (received["count"], received["rejected"]) == (1, 3)
    assert now - T0 >= timedelta(seconds=0.8 + 1.6 + 3.2)


def test_slack_message_reaches_the_webhook_url_with_text_and_blocks(
    sink_server: SinkServer,
) -> None:
    shift = unique_shift()
    settings = AlertSettings.model_validate(
        {"providers": {"chat": {"type": "slack", "webhookUrl": {"env": "SLACK_URL"}}}}
    )
    url = f"{sink_server.url}/services/T000/B000/token"
    resolver = SecretResolver(environ={"SLACK_URL": url})
    with Dispatcher(settings, secrets=resolver) as dispatcher:
        dispatcher.dispatch([rollback_for(shift, "chat", T0)], T0)
    (delivery,) = _received(sink_server.url)["received"]
    assert delivery["path"] == "/services/T000/B000/token"
    assert delivery["body"]["text"].startswith(f":red_circle: TrafficShift bookinfo/{shift} rolled")
    assert [block["type"] for block in delivery["body"]["blocks"]] == [
        "header",
        "section",
        "section",
        "section",
        "context",
    ]
    assert "error-rate" in json.dumps(delivery["body"]["blocks"])
