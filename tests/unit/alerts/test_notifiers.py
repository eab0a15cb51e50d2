"""One delivery attempt per provider: the request built, the answer judged, errors redacted."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

from controller.alerts import SecretResolver, verify_signature
from controller.alerts.notifiers import Attempt, deliver
from controller.alerts.transport import (
    HttpAnswer,
    RequestsTransport,
    Transport,
    TransportFailure,
)
from tests.unit.alerts.builders import SLACK_URL, T0, WEBHOOK_SECRET, rollback_alert, settings
from tests.unit.alerts.fakes import ScriptedTransport

ENV = {"SLACK_URL": SLACK_URL, "HOOK_SECRET": WEBHOOK_SECRET, "AM_TOKEN": "Bearer am-token-9876"}
SETTINGS = settings(
    am={
        "type": "alertmanager",
        "url": "http://am.example:9093",
        "headers": {"Authorization": {"env": "AM_TOKEN"}, "X-Scope-OrgID": "team-a"},
    },
    chat={"type": "slack", "webhookUrl": {"env": "SLACK_URL"}},
    hook={
        "type": "webhook",
        "url": "http://hooks.example/in/tok-777",
        "secret": {"env": "HOOK_SECRET"},
    },
)


def _deliver(provider: str, transport: Transport, environ: dict[str, str] | None = None) -> Attempt:
    return deliver(
        rollback_alert(provider),
        SETTINGS.providers[provider],
        settings=SETTINGS,
        resolver=SecretResolver(environ=ENV if environ is None else environ),
        transport=transport,
        sent_at=T0,
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_alertmanager_request_posts_the_alert_list_with_resolved_headers() -> None:
    transport = ScriptedTransport()
    assert _deliver("am", transport).result.delivered
    (request,) = transport.sent
    assert request.url == "http://am.example:9093/api/v2/alerts"
    assert request.headers["Authorization"] == "Bearer am-token-9876"
    assert request.headers["X-Scope-OrgID"] == "team-a"
    assert request.timeout_seconds == 2.0
    assert json.loads(request.body)[0]["labels"]["alertname"] == "TrafficShiftRolledBack"


def test_slack_request_goes_to_the_secret_webhook_url() -> None:
    transport = ScriptedTransport()
    _deliver("chat", transport)
    assert transport.sent[0].url == SLACK_URL
    assert set(json.loads(transport.sent[0].body)) == {"text", "blocks"}


def test_webhook_request_is_signed_over_its_exact_body() -> None:
    transport = ScriptedTransport()
    _deliver("hook", transport)
    (request,) = transport.sent
    assert verify_signature(request.body, request.headers["X-Weightgate-Signature"], WEBHOOK_SECRET)


def test_server_error_is_retryable_and_shows_only_scheme_and_host() -> None:
    answer = HttpAnswer(503, f"upstream {SLACK_URL} unavailable")
    result = _deliver("chat", ScriptedTransport([answer])).result
    assert not result.delivered
    assert result.retryable
    assert result.error == "https://hooks.slack.com/***: HTTP 503: upstream *** unavailable"


def test_echoed_token_in_the_answer_is_scrubbed() -> None:
    answer = HttpAnswer(404, "no such hook /services/T000/B000/XyzSecretToken123")
    result = _deliver("chat", ScriptedTransport([answer])).result
    assert "XyzSecretToken123" not in result.error
    assert "T000" not in result.error


def test_refused_payload_is_not_retried() -> None:
    result = _deliver("am", ScriptedTransport([HttpAnswer(400, "bad alert")])).result
    assert not result.retryable
    assert "HTTP 400: bad alert (the receiver refused the payload)" in result.error


def test_rate_limit_passes_the_receivers_retry_after_on() -> None:
    result = _deliver("am", ScriptedTransport([HttpAnswer(429, "", 30.0)])).result
    assert result.retryable
    assert result.retry_after == timedelta(seconds=30)


def test_missing_secret_fails_the_attempt_with_the_variable_name() -> None:
    transport = ScriptedTransport()
    result = _deliver("chat", transport, environ={}).result
    assert result.error.startswith("secret unavailable: environment variable SLACK_URL is not set")
    assert transport.sent == []


def test_transport_that_raises_anything_still_gives_a_result() -> None:
    result = _deliver("hook", ScriptedTransport([RuntimeError(f"boom {WEBHOOK_SECRET}")])).result
    assert result.error == "http://hooks.example/***: RuntimeError"


def test_timeout_is_flagged_so_the_dispatcher_can_rest_the_provider() -> None:
    attempt = _deliver(
        "am", ScriptedTransport([TransportFailure("no answer within 2s", timed_out=True)])
    )
    assert attempt.timed_out
    assert attempt.result.error == "http://am.example:9093/***: no answer within 2s"


def test_real_connection_error_to_a_token_url_is_redacted() -> None:
    port = _closed_port()
    url = f"http://127.0.0.1:{port}/services/T000/B000/XyzSecretToken123"
    result = _deliver("chat", RequestsTransport(), environ={**ENV, "SLACK_URL": url}).result
    assert result.error == f"http://127.0.0.1:{port}/***: could not connect: Connection refused"
    assert "XyzSecretToken123" not in result.error
