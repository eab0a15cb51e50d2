"""The alert outbox entry: one alert owed to one provider, as it is kept in a shift's status.

`PendingAlert` is pure data with the API's camelCase aliases, so the reconcile tick can keep a
list of them in ``status.pendingAlerts`` (and rollback alerts awaiting resolution in
``status.firingAlerts``) and a restarted controller delivers what the last one owed. It carries
every fact needed to build any provider's payload later, and never a secret. This module imports
only pydantic and ``controller.api`` so the models can move into the API package unchanged.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from controller.api.base import ApiModel, DnsLabel

MAX_MESSAGE_CHARS = 2000
MAX_QUERY_CHARS = 2000
MAX_ERROR_CHARS = 500


class AlertEvent(StrEnum):
    ROLLBACK = "rollback"
    PROMOTED = "promoted"
    HOLDING = "holding"
    DRIFT = "drift"
    INVALID = "invalid"


class AlertState(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"  # ends an earlier firing alert with the same dedupKey and provider


AlertKey = tuple[str, str, AlertState]  # (dedup key, provider, state): one outbox entry


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class GateFacts(ApiModel):
    """The gate that failed (or could not judge), as the shift's status recorded it."""

    name: str
    value: float | None = None
    threshold: str = ""
    query: str = Field(default="", max_length=MAX_QUERY_CHARS)
    evidence: str = Field(
        default="",
        max_length=MAX_MESSAGE_CHARS,
        description="Sequential judge: the counts, rates, e-value and bound behind the verdict.",
    )


class AlertFacts(ApiModel):
    """What happened to which shift, where it stood, and why: the payload's raw material."""

    namespace: str
    shift: str = Field(description="TrafficShift name.")
    virtual_service: str
    generation: int = Field(ge=0)
    canary: str
    stable: str
    step: int = Field(ge=0, description="Step the shift was at (1-based; 0 before the first).")
    steps: int = Field(ge=0, description="Number of steps in the spec.")
    weight: int = Field(ge=0, le=100, description="Canary weight when it happened, percent.")
    reason: str = Field(description="The transition's reason, e.g. RolledBack.")
    message: str = Field(max_length=MAX_MESSAGE_CHARS)
    gate: GateFacts | None = None


class PendingAlert(ApiModel):
    """One alert for one provider, until it is delivered or given up."""

    dedup_key: str = Field(
        description="namespace/shift/generation/event/transition time (UTC, seconds): the same "
        "for every provider of one transition; receivers drop repeats of it."
    )
    event: AlertEvent
    state: AlertState = AlertState.FIRING
    provider: DnsLabel
    severity: Severity
    created_at: AwareDatetime = Field(description="When this entry was queued.")
    starts_at: AwareDatetime = Field(description="When the alerted condition began.")
    ends_at: AwareDatetime | None = Field(
        default=None, description="Set on a resolving alert: when the condition ended."
    )
    attempts: int = Field(default=0, ge=0)
    next_attempt_at: AwareDatetime
    last_error: str = Field(default="", max_length=MAX_ERROR_CHARS)
    misconfigured: bool = Field(
        default=False,
        description="The last attempt failed on the controller's own configuration (a Secret or "
        "key that is missing, a provider that is not configured): the AlertsMisconfigured "
        "condition says so, and it is retried only every retry.misconfiguredBackoff.",
    )
    facts: AlertFacts

    @property
    def key(self) -> AlertKey:
        """Identity in the outbox: a resolve and its firing alert are two entries."""
        return (self.dedup_key, self.provider, self.state)
