"""The alert outbox as pure functions: what to queue, what is due, what an attempt leaves.

The outbox lives in the TrafficShift's status (a list of `PendingAlert`), so everything here is
data in, data out: no clock (``now`` is passed), no I/O, randomness only through an injected
`RandomSource`. Delivery is at-least-once: an entry leaves the outbox only when a receiver
accepted it or the retry policy gives up on it.

Dedup key: ``{namespace}/{shift}/{generation}/{event}/{transition time}``, the time in UTC to
the second. The generation alone cannot tell two rollbacks of one generation apart (a spec
change rolls back at the new generation, whose gates may roll it back again later); the
transition time can, and it is stable when a tick is redone after a 409 (the tick keeps its
``now``). Every provider of one transition gets the same key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from controller.alerts.config import RetryPolicy
from controller.alerts.facts import AlertTrigger, ShiftFacts, alert_facts
from controller.alerts.pending import MAX_ERROR_CHARS, AlertState, PendingAlert
from controller.alerts.redact import clip
from controller.alerts.render import SEVERITIES, format_time
from controller.api.trafficshift import AlertEvent, AlertRoute


class RandomSource(Protocol):
    """`random.Random` or anything with its `random()`: a float in [0, 1)."""

    def random(self) -> float: ...


@dataclass(frozen=True)
class DeliveryResult:
    """How one delivery attempt went. `error` is safe to record (no URL path, no secret)."""

    delivered: bool
    error: str = ""
    retryable: bool = True  # False: the receiver rejected the payload itself; retrying won't help
    retry_after: timedelta | None = None  # the receiver asked for at least this long (429)
    misconfigured: bool = False  # our settings are wrong (secret, provider), not the receiver

    @classmethod
    def ok(cls) -> DeliveryResult:
        return cls(delivered=True)

    @classmethod
    def failed(
        cls,
        error: str,
        *,
        retryable: bool = True,
        retry_after: timedelta | None = None,
        misconfigured: bool = False,
    ) -> DeliveryResult:
        return cls(False, error, retryable, retry_after, misconfigured)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC): pass datetime.now(UTC)")


def dedup_key(facts: ShiftFacts, event: AlertEvent, now: datetime) -> str:
    return f"{facts.namespace}/{facts.name}/{facts.generation}/{event.value}/{format_time(now)}"


def providers_for(routes: Sequence[AlertRoute], event: AlertEvent) -> list[str]:
    """Providers whose route asks for `event`, each once, in spec order."""
    names = [route.provider for route in routes if event in route.events]
    return list(dict.fromkeys(names))


def alerts_for(
    transitions: Sequence[AlertTrigger],
    routes: Sequence[AlertRoute],
    facts: ShiftFacts,
    now: datetime,
) -> list[PendingAlert]:
    """One new outbox entry per (transition with an alert event, provider that wants it)."""
    _require_aware(now)
    queued: dict[tuple[str, str], PendingAlert] = {}
    for transition in transitions:
        event = transition.alert_event
        if event is None:
            continue
        key = dedup_key(facts, event, now)
        for provider in providers_for(routes, event):
            queued.setdefault(
                (key, provider),
                PendingAlert(
                    dedup_key=key,
                    event=event,
                    provider=provider,
                    severity=SEVERITIES[event],
                    created_at=now,
                    starts_at=now,
                    next_attempt_at=now,
                    facts=alert_facts(facts, transition, event),
                ),
            )
    return list(queued.values())


def _waiting_for_firing(alert: PendingAlert, firing_keys: set[tuple[str, str]]) -> bool:
    """A resolve goes out only after its firing alert left the outbox (order matters)."""
    resolve = alert.state is AlertState.RESOLVED
    return resolve and (alert.dedup_key, alert.provider) in firing_keys


def due(pending: Sequence[PendingAlert], now: datetime) -> list[PendingAlert]:
    """Entries to attempt now, oldest appointment first."""
    _require_aware(now)
    firing_keys = {(a.dedup_key, a.provider) for a in pending if a.state is AlertState.FIRING}
    ready = [
        alert
        for alert in pending
        if alert.next_attempt_at <= now and not _waiting_for_firing(alert, firing_keys)
    ]
    return sorted(ready, key=lambda alert: alert.next_attempt_at)


def next_due(pending: Sequence[PendingAlert]) -> datetime | None:
    """When the outbox next has work (for scheduling a shift whose phase is final)."""
    return min((alert.next_attempt_at for alert in pending), default=None)


def backoff_delay(attempts: int, policy: RetryPolicy, rng: RandomSource) -> timedelta:
    """Wait after the `attempts`-th failure: initial * 2^(attempts-1), capped, +/- jitter."""
    initial = policy.initial_backoff.total_seconds()
    ceiling = policy.max_backoff.total_seconds()
    base = min(ceiling, initial * 2.0 ** min(max(attempts - 1, 0), 32))
    spread = 1.0 + policy.jitter * (2.0 * rng.random() - 1.0)
    return timedelta(seconds=min(ceiling, base * spread))


def gives_up(
    alert: PendingAlert, result: DeliveryResult, now: datetime, policy: RetryPolicy
) -> bool:
    """True when this failed attempt is the last: not retryable, or retried long enough."""
    if result.delivered:
        return False
    return not result.retryable or now - alert.created_at >= policy.give_up_after


def after_attempt(
    alert: PendingAlert,
    result: DeliveryResult,
    now: datetime,
    rng: RandomSource,
    policy: RetryPolicy | None = None,
) -> PendingAlert | None:
    """The entry after one attempt; None when it was delivered or is given up on."""
    _require_aware(now)
    rules = policy or RetryPolicy()
    if result.delivered or gives_up(alert, result, now, rules):
        return None
    attempts = alert.attempts + 1
    delay = backoff_delay(attempts, rules, rng)
    if result.retry_after is not None:
        delay = max(delay, min(result.retry_after, rules.max_backoff))
    if result.misconfigured:
        delay = max(delay, rules.misconfigured_backoff)  # only a fix helps: no status churn
    return alert.model_copy(
        update={
            "attempts": attempts,
            "next_attempt_at": now + delay,
            "last_error": clip(result.error, MAX_ERROR_CHARS),
            "misconfigured": result.misconfigured,
        }
    )
