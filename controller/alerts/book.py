"""One shift's alert bookkeeping across ticks: the outbox plus rollback alerts still firing.

`AlertBook.pending` is the outbox (``status.pendingAlerts``); `AlertBook.firing` keeps each
rollback alert (one per provider) until a later promotion resolves it (``status.firingAlerts``).
`plan` folds one tick's transitions in; `settle` folds in what a dispatch did. Both are pure.

On promotion every firing rollback alert is resolved. A rollback that never went out (still
queued, not yet attempted) is withdrawn instead, so nobody gets a resolve for an alert they never
saw; one that was attempted gets its resolve queued behind it (`outbox.due` keeps the order).
Both lists are bounded so a shift that flaps cannot grow its status without end: entries pushed
out of a full outbox are reported like undeliverable ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from controller.alerts.facts import AlertTrigger, ShiftFacts
from controller.alerts.outbox import alerts_for
from controller.alerts.pending import AlertState, PendingAlert
from controller.api.durations import format_duration
from controller.api.trafficshift import AlertEvent, AlertRoute

MAX_PENDING = 25
MAX_FIRING = 10


@dataclass(frozen=True)
class Undeliverable:
    """An alert given up on; `message` is the text for a Warning event (no secrets)."""

    alert: PendingAlert
    reason: str
    at: datetime
    attempts: int  # delivery attempts made, this last one included

    @property
    def message(self) -> str:
        alert = self.alert
        over = format_duration(max(self.at - alert.created_at, timedelta(0)))
        tried = f"after {self.attempts} attempt(s) over {over}" if self.attempts else "unsent"
        return (
            f"Gave up delivering the {alert.event.value} alert {alert.dedup_key} to provider "
            f"'{alert.provider}' {tried}: {self.reason}. Check "
            f"alerts.providers.{alert.provider} in the controller settings and that the "
            "receiver is reachable; the shift itself is not affected."
        )


@dataclass(frozen=True)
class DispatchReport:
    """What one dispatch did. `pending` is the whole outbox afterwards, to record as is."""

    pending: tuple[PendingAlert, ...]
    delivered: tuple[PendingAlert, ...] = ()
    undeliverable: tuple[Undeliverable, ...] = ()
    attempted: int = 0

    @property
    def changed(self) -> bool:
        """True when the outbox differs from what was passed in (write the status)."""
        return self.attempted > 0


class AlertDispatch(Protocol):
    """What the reconcile tick needs of a dispatcher (`Dispatcher` is one; tests fake it)."""

    def dispatch(self, pending: Sequence[PendingAlert], now: datetime) -> DispatchReport: ...


@dataclass(frozen=True)
class AlertBook:
    pending: tuple[PendingAlert, ...] = ()
    firing: tuple[PendingAlert, ...] = ()
    dropped: tuple[Undeliverable, ...] = ()  # pushed out of a full outbox by the last `plan`


def resolving_alert(rollback: PendingAlert, now: datetime) -> PendingAlert:
    """The alert that ends `rollback` (same dedup key, provider and labels; endsAt = now)."""
    return rollback.model_copy(
        update={
            "state": AlertState.RESOLVED,
            "created_at": now,
            "ends_at": now,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "",
        }
    )


def _resolve_all(
    firing: Sequence[PendingAlert], pending: Sequence[PendingAlert], now: datetime
) -> list[PendingAlert]:
    queued = {alert.key: alert for alert in pending}
    withdrawn = {f.key for f in firing if f.key in queued and queued[f.key].attempts == 0}
    resolves = [resolving_alert(f, now) for f in firing if f.key not in withdrawn]
    kept = [alert for alert in pending if alert.key not in withdrawn]
    return _unique([*kept, *resolves])


def _unique(alerts: Sequence[PendingAlert]) -> list[PendingAlert]:
    return list({alert.key: alert for alert in reversed(alerts)}.values())[::-1]


def _bounded(
    pending: Sequence[PendingAlert], now: datetime
) -> tuple[list[PendingAlert], list[Undeliverable]]:
    if len(pending) <= MAX_PENDING:
        return list(pending), []
    by_age = sorted(pending, key=lambda alert: alert.created_at)
    pushed_out = {alert.key for alert in by_age[: len(pending) - MAX_PENDING]}
    reason = f"this shift's outbox holds at most {MAX_PENDING} alerts and newer ones arrived"
    dropped = [Undeliverable(a, reason, now, a.attempts) for a in pending if a.key in pushed_out]
    return [a for a in pending if a.key not in pushed_out], dropped


def plan(
    book: AlertBook,
    transitions: Sequence[AlertTrigger],
    routes: Sequence[AlertRoute],
    facts: ShiftFacts,
    now: datetime,
) -> AlertBook:
    """The book after one tick's transitions: new alerts queued, rollbacks resolved."""
    new = alerts_for(transitions, routes, facts, now)
    pending = _unique([*book.pending, *new])
    firing = [*book.firing, *(alert for alert in new if alert.event is AlertEvent.ROLLBACK)]
    if any(t.alert_event is AlertEvent.PROMOTED for t in transitions):
        pending, firing = _resolve_all(firing, pending, now), []
    kept, dropped = _bounded(pending, now)
    return AlertBook(tuple(kept), tuple(firing[-MAX_FIRING:]), tuple(dropped))


def settle(book: AlertBook, report: DispatchReport) -> AlertBook:
    """The book after a dispatch: its outbox, minus firing alerts nobody could be told of."""
    lost = {u.alert.key for u in report.undeliverable if u.alert.state is AlertState.FIRING}
    firing = tuple(alert for alert in book.firing if alert.key not in lost)
    return AlertBook(report.pending, firing)
