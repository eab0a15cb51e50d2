"""Alerting settings: the named providers a TrafficShift's `alerts` refer to, and retry policy.

These models are meant to sit in the controller settings as ``alerts: AlertSettings`` (camelCase
or snake_case keys both load). Nothing here holds a secret in clear: Slack's webhook URL and the
webhook's shared secret are `SecretRef`s, whose inline values are `SecretStr`s; header values
that are credentials belong in a `SecretRef` too. So ``repr``, ``str`` and ``model_dump`` of
these models are safe to log.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from controller.alerts.secretref import SecretRef
from controller.api.base import ApiModel, DnsLabel
from controller.api.durations import Duration

DEFAULT_TIMEOUT_SECONDS = 2.0


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "expected an http:// or https:// URL with a host, e.g. "
            "'http://alertmanager.monitoring.svc:9093'"
        )
    return value.rstrip("/")


HttpUrl = Annotated[str, AfterValidator(_http_url)]
Timeout = Annotated[float, Field(gt=0, le=30)]


class AlertmanagerProvider(ApiModel):
    """Alertmanager's API v2: alerts are POSTed to ``{url}/api/v2/alerts``."""

    type: Literal["alertmanager"] = "alertmanager"
    url: HttpUrl = Field(description="Alertmanager base URL (without /api/v2/alerts).")
    timeout_seconds: Timeout = DEFAULT_TIMEOUT_SECONDS
    headers: dict[str, str | SecretRef] = Field(
        default_factory=dict,
        repr=False,
        description="Extra request headers, e.g. X-Scope-OrgID; put credentials in a SecretRef.",
    )
    rollback_firing_for: Duration = Field(
        default=timedelta(days=7),
        description="endsAt of a rollback alert: it stays firing this long unless a later "
        "successful shift resolves it first. Other events use Alertmanager's resolve_timeout.",
    )


class SlackProvider(ApiModel):
    """A Slack incoming webhook; its URL is itself the credential."""

    type: Literal["slack"] = "slack"
    webhook_url: SecretRef
    timeout_seconds: Timeout = DEFAULT_TIMEOUT_SECONDS


class WebhookProvider(ApiModel):
    """Any HTTP receiver: a signed JSON body (see ``controller.alerts.webhook``)."""

    type: Literal["webhook"] = "webhook"
    url: HttpUrl
    secret: SecretRef = Field(description="Shared secret for the X-Weightgate-Signature HMAC.")
    timeout_seconds: Timeout = DEFAULT_TIMEOUT_SECONDS


Provider = Annotated[
    AlertmanagerProvider | SlackProvider | WebhookProvider, Field(discriminator="type")
]


class RetryPolicy(ApiModel):
    """Exponential backoff with jitter between attempts, and when to stop trying."""

    initial_backoff: Duration = Field(default=timedelta(seconds=1))
    max_backoff: Duration = Field(default=timedelta(minutes=5))
    jitter: float = Field(
        default=0.2, ge=0, le=1, description="Each delay is spread by +/- this fraction."
    )
    misconfigured_backoff: Duration = Field(
        default=timedelta(minutes=30),
        description="Wait after an attempt that failed on the controller's configuration (a "
        "missing Secret, an unknown provider): nothing changes until someone fixes it.",
    )
    give_up_after: Duration = Field(
        default=timedelta(hours=24),
        description="An alert still undelivered this long after it was raised is dropped and "
        "reported as undeliverable.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max_backoff < self.initial_backoff:
            raise ValueError(
                "maxBackoff is shorter than initialBackoff: make maxBackoff at least as long "
                "(defaults: 1s and 5m)"
            )
        return self


class AlertSettings(ApiModel):
    """The ``alerts`` section of the controller settings."""

    providers: dict[DnsLabel, Provider] = Field(
        default_factory=dict,
        description="Providers by name; a TrafficShift's spec.alerts[].provider names one.",
    )
    prometheus_external_url: HttpUrl | None = Field(
        default=None,
        description="Prometheus URL as people reach it, for graph links in alerts; no links "
        "when unset.",
    )
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    max_parallel: int = Field(
        default=4, ge=1, le=32, description="Deliveries in flight at once per dispatch."
    )
    max_per_dispatch: int = Field(
        default=32, ge=1, le=500, description="Due alerts attempted per dispatch call."
    )
