"""One delivery attempt of one outbox entry to its provider: build, send, judge the answer.

`deliver` never raises: a missing secret, a refused connection, a timeout or a 5xx all become a
`DeliveryResult` whose error names the provider's URL with its path hidden and is scrubbed of
every secret in play. Receivers that reject the payload itself (400, 413, 422) are not retried;
everything else is, until the retry policy gives up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from controller.alerts.alertmanager import ALERTS_PATH, alertmanager_alerts
from controller.alerts.config import (
    AlertmanagerProvider,
    AlertSettings,
    Provider,
    SlackProvider,
    WebhookProvider,
)
from controller.alerts.outbox import DeliveryResult
from controller.alerts.pending import PendingAlert
from controller.alerts.redact import clip, redact_url, scrub
from controller.alerts.secretref import SecretResolver, SecretUnavailableError
from controller.alerts.slack import slack_message
from controller.alerts.transport import HttpAnswer, HttpRequest, Transport, TransportFailure
from controller.alerts.webhook import SIGNATURE_HEADER, encode, sign, webhook_payload

JSON_HEADERS = {"Content-Type": "application/json"}
NOT_RETRYABLE = frozenset({400, 413, 422})  # the payload itself was refused
ANSWER_IN_ERROR_CHARS = 200


@dataclass(frozen=True)
class Prepared:
    request: HttpRequest
    where: str  # the URL, safe to show
    secrets: tuple[str, ...] = field(default=(), repr=False)  # scrubbed from any error text


@dataclass(frozen=True)
class Attempt:
    result: DeliveryResult
    timed_out: bool = False


def _alertmanager(
    alert: PendingAlert,
    provider: AlertmanagerProvider,
    settings: AlertSettings,
    resolver: SecretResolver,
) -> Prepared:
    headers = dict(JSON_HEADERS)
    secrets: list[str] = []
    for name, value in provider.headers.items():
        if isinstance(value, str):
            headers[name] = value
        else:
            headers[name] = resolver.resolve(value)
            secrets.append(headers[name])
    body = alertmanager_alerts(
        alert,
        external_url=settings.prometheus_external_url,
        rollback_firing_for=provider.rollback_firing_for,
    )
    url = provider.url + ALERTS_PATH
    request = HttpRequest(url, json.dumps(body).encode(), headers, provider.timeout_seconds)
    return Prepared(request, redact_url(url), tuple(secrets))


def _slack(
    alert: PendingAlert, provider: SlackProvider, settings: AlertSettings, resolver: SecretResolver
) -> Prepared:
    url = resolver.resolve(provider.webhook_url)
    body = slack_message(alert, external_url=settings.prometheus_external_url)
    request = HttpRequest(url, json.dumps(body).encode(), JSON_HEADERS, provider.timeout_seconds)
    return Prepared(request, redact_url(url), (url,))


def _webhook(
    alert: PendingAlert,
    provider: WebhookProvider,
    settings: AlertSettings,
    resolver: SecretResolver,
    sent_at: datetime,
) -> Prepared:
    secret = resolver.resolve(provider.secret)
    body = encode(
        webhook_payload(alert, external_url=settings.prometheus_external_url, sent_at=sent_at)
    )
    headers = {**JSON_HEADERS, SIGNATURE_HEADER: sign(body, secret)}
    request = HttpRequest(provider.url, body, headers, provider.timeout_seconds)
    return Prepared(request, redact_url(provider.url), (secret, provider.url))


def prepare(
    alert: PendingAlert,
    provider: Provider,
    settings: AlertSettings,
    resolver: SecretResolver,
    sent_at: datetime,
) -> Prepared:
    """The HTTP request for `alert`; raises SecretUnavailableError when a secret is missing."""
    if isinstance(provider, AlertmanagerProvider):
        return _alertmanager(alert, provider, settings, resolver)
    if isinstance(provider, SlackProvider):
        return _slack(alert, provider, settings, resolver)
    return _webhook(alert, provider, settings, resolver, sent_at)


def location(provider: Provider) -> str:
    """Where `provider` sends, safe to show without resolving any secret."""
    if isinstance(provider, SlackProvider):
        return "Slack webhook"
    if isinstance(provider, AlertmanagerProvider):
        return redact_url(provider.url + ALERTS_PATH)
    return redact_url(provider.url)


def judge(answer: HttpAnswer, prepared: Prepared) -> DeliveryResult:
    if 200 <= answer.status < 300:
        return DeliveryResult.ok()
    said = clip(scrub(answer.text, prepared.secrets), ANSWER_IN_ERROR_CHARS)
    error = f"{prepared.where}: HTTP {answer.status}" + (f": {said}" if said else "")
    if answer.status in NOT_RETRYABLE:
        return DeliveryResult.failed(f"{error} (the receiver refused the payload)", retryable=False)
    wait = answer.retry_after_seconds
    return DeliveryResult.failed(error, retry_after=timedelta(seconds=wait) if wait else None)


def deliver(
    alert: PendingAlert,
    provider: Provider,
    *,
    settings: AlertSettings,
    resolver: SecretResolver,
    transport: Transport,
    sent_at: datetime,
) -> Attempt:
    """Send `alert` once. Never raises."""
    try:
        prepared = prepare(alert, provider, settings, resolver, sent_at)
    except SecretUnavailableError as exc:
        return Attempt(DeliveryResult.failed(f"secret unavailable: {exc}", misconfigured=True))
    except Exception as exc:  # noqa: BLE001 - a payload bug must not break the tick either
        return Attempt(DeliveryResult.failed(f"could not build the request ({type(exc).__name__})"))
    try:
        answer = transport.post(prepared.request)
    except TransportFailure as exc:
        error = f"{prepared.where}: {scrub(exc.reason, prepared.secrets)}"
        return Attempt(DeliveryResult.failed(error), timed_out=exc.timed_out)
    except Exception as exc:  # noqa: BLE001 - a broken transport must not break the tick
        return Attempt(DeliveryResult.failed(f"{prepared.where}: {type(exc).__name__}"))
    return Attempt(judge(answer, prepared))
