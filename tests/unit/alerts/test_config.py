"""Alert settings: provider models, validation messages, and no secret in repr/str/dumps."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from controller.alerts import (
    AlertmanagerProvider,
    AlertSettings,
    SlackProvider,
    WebhookProvider,
)
from tests.unit.alerts.builders import SLACK_URL, WEBHOOK_SECRET, rollback_alert

BEARER = "Bearer am-token-9876"
RAW = {
    "providers": {
        "oncall": {
            "type": "alertmanager",
            "url": "http://alertmanager.monitoring.svc:9093/",
            "headers": {"X-Scope-OrgID": "team-a", "Authorization": {"value": BEARER}},
        },
        "chat": {"type": "slack", "webhookUrl": {"value": SLACK_URL}},
        "audit": {
            "type": "webhook",
            "url": "https://audit.example/hook",
            "secret": {"value": WEBHOOK_SECRET},
        },
    },
    "prometheusExternalUrl": "https://prometheus.example",
    "retry": {"initialBackoff": "2s", "maxBackoff": "10m", "jitter": 0.1, "giveUpAfter": "12h"},
}


def _every_rendering(model: AlertSettings) -> str:
    return "\n".join(
        [
            repr(model),
            str(model),
            str(model.model_dump()),
            str(model.model_dump(by_alias=True)),
            json.dumps(model.model_dump(mode="json", by_alias=True)),
            model.model_dump_json(),
        ]
    )


def test_providers_are_told_apart_by_type_and_defaults_apply() -> None:
    loaded = AlertSettings.model_validate(RAW)
    assert isinstance(loaded.providers["oncall"], AlertmanagerProvider)
    assert isinstance(loaded.providers["chat"], SlackProvider)
    assert isinstance(loaded.providers["audit"], WebhookProvider)
    assert loaded.providers["chat"].timeout_seconds == 2.0
    assert loaded.providers["oncall"].url == "http://alertmanager.monitoring.svc:9093"
    assert loaded.retry.give_up_after.total_seconds() == 12 * 3600


def test_default_retry_policy_is_1s_to_5m_with_jitter_for_24h() -> None:
    retry = AlertSettings().retry
    assert (retry.initial_backoff.total_seconds(), retry.max_backoff.total_seconds()) == (1, 300)
    assert retry.jitter == 0.2
    assert retry.give_up_after.total_seconds() == 86400


def test_no_secret_appears_in_repr_str_or_any_dump_of_the_settings() -> None:
    shown = _every_rendering(AlertSettings.model_validate(RAW))
    for secret in (SLACK_URL, "XyzSecretToken123", WEBHOOK_SECRET, BEARER, "am-token-9876"):
        assert secret not in shown


def test_pending_alert_renderings_hold_no_secret() -> None:
    alert = rollback_alert()
    shown = "\n".join([repr(alert), str(alert), alert.model_dump_json(by_alias=True)])
    for secret in (SLACK_URL, WEBHOOK_SECRET):
        assert secret not in shown


def test_pending_alert_round_trips_through_its_camel_case_status_form() -> None:
    alert = rollback_alert()
    wire = alert.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert {"dedupKey", "nextAttemptAt", "createdAt", "startsAt", "lastError"} <= set(wire)
    assert type(alert).model_validate(wire) == alert


def test_unknown_provider_type_is_refused_with_the_allowed_ones() -> None:
    with pytest.raises(ValidationError, match="'alertmanager', 'slack', 'webhook'"):
        AlertSettings.model_validate({"providers": {"x": {"type": "pagerduty", "url": "http://x"}}})


def test_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="webhookURL"):
        AlertSettings.model_validate(
            {"providers": {"x": {"type": "slack", "webhookURL": {"env": "SLACK_URL"}}}}
        )


def test_url_without_http_scheme_is_refused_with_an_example() -> None:
    with pytest.raises(ValidationError, match=r"expected an http:// or https:// URL"):
        AlertSettings.model_validate(
            {"providers": {"x": {"type": "alertmanager", "url": "am:9093"}}}
        )


def test_secret_ref_needs_exactly_one_source() -> None:
    with pytest.raises(ValidationError, match="set exactly one of env"):
        AlertSettings.model_validate(
            {"providers": {"x": {"type": "slack", "webhookUrl": {"env": "A", "value": "b"}}}}
        )
    with pytest.raises(ValidationError, match="set exactly one of env"):
        AlertSettings.model_validate({"providers": {"x": {"type": "slack", "webhookUrl": {}}}})


def test_max_backoff_shorter_than_initial_is_refused() -> None:
    with pytest.raises(ValidationError, match="maxBackoff is shorter than initialBackoff"):
        AlertSettings.model_validate({"retry": {"initialBackoff": "10m", "maxBackoff": "1m"}})
