"""Alerts in the tick: queue what the tick's transitions owe (in the same status write that
records them, before any VirtualService write), then deliver after the route is written, and
clear what was delivered. A controller killed in between finds the alert in the status and
delivers it after restart: at least once, with the same dedup key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.alerts import (
    ALERTS_MISCONFIGURED,
    AlertBook,
    DispatchReport,
    PendingAlert,
    ShiftFacts,
    Undeliverable,
    delivery_misconfigured,
    misconfigured_message,
    plan,
    settle,
)
from controller.api.status import Condition, TrafficShiftStatus
from controller.api.trafficshift import TrafficShift
from controller.reconcile.ports import Dependencies
from controller.rollout import Transition

UNDELIVERABLE_REASON = "AlertUndeliverable"


@dataclass(frozen=True)
class PlannedAlerts:
    status: TrafficShiftStatus
    dropped: tuple[Undeliverable, ...]
    misconfigured: str  # "" when every provider the shift names is configured


def _book(status: TrafficShiftStatus | None) -> AlertBook:
    if status is None:
        return AlertBook()
    return AlertBook(tuple(status.pending_alerts), tuple(status.firing_alerts))


def _misconfigured_condition(
    conditions: Sequence[Condition],
    message: str,
    generation: int,
    now: datetime,
    reason: str = "UnknownProvider",
) -> list[Condition]:
    others = [c for c in conditions if c.type != ALERTS_MISCONFIGURED]
    previous = next((c for c in conditions if c.type == ALERTS_MISCONFIGURED), None)
    if not message and previous is None:
        return others
    status = "True" if message else "False"
    if previous is not None and previous.status == status and previous.message == message:
        return [*others, previous]
    reason = reason if message else "ProvidersConfigured"
    return [
        *others,
        Condition(
            type=ALERTS_MISCONFIGURED,
            status=status,
            reason=reason,
            message=message,
            last_transition_time=now,
            observed_generation=generation,
        ),
    ]


def plan_alerts(
    deps: Dependencies,
    shift: TrafficShift,
    *,
    previous: TrafficShiftStatus | None,
    decided: TrafficShiftStatus,
    transitions: Sequence[Transition],
    now: datetime,
) -> PlannedAlerts:
    """``decided`` with the outbox updated for ``transitions`` and the AlertsMisconfigured
    condition kept current."""
    facts = ShiftFacts.of(shift, previous, decided)
    book = plan(_book(previous), transitions, shift.spec.alerts, facts, now)
    message, reason = _misconfigured(deps, shift, book.pending)
    generation = shift.metadata.generation or 0
    conditions = _misconfigured_condition(decided.conditions, message, generation, now, reason)
    status = decided.model_copy(
        update={
            "pending_alerts": list(book.pending),
            "firing_alerts": list(book.firing),
            "conditions": conditions,
        }
    )
    return PlannedAlerts(status, book.dropped, message)


def _misconfigured(
    deps: Dependencies, shift: TrafficShift, pending: Sequence[PendingAlert]
) -> tuple[str, str]:
    """Everything wrong with the alert settings this shift relies on (providers it names that
    are not configured, what delivery found: a missing Secret or key), and the reason."""
    unknown = misconfigured_message(shift.spec.alerts, deps.alert_settings)
    delivery = delivery_misconfigured(pending, deps.alert_settings)
    reason = "UnknownProvider" if unknown else "DeliveryMisconfigured"
    return " ".join(part for part in (unknown, delivery) if part), reason


def newly_misconfigured(previous: TrafficShiftStatus | None, message: str) -> bool:
    """Whether `message` is news: the shift's last status did not already say it."""
    if not message:
        return False
    before = next(
        (c for c in (previous.conditions if previous else []) if c.type == ALERTS_MISCONFIGURED),
        None,
    )
    return before is None or before.status != "True" or before.message != message


def with_misconfigured(
    deps: Dependencies, shift: TrafficShift, status: TrafficShiftStatus, now: datetime
) -> tuple[TrafficShiftStatus, str]:
    """`status` with the AlertsMisconfigured condition brought up to date (after a delivery),
    and the condition's message."""
    message, reason = _misconfigured(deps, shift, status.pending_alerts)
    generation = shift.metadata.generation or 0
    conditions = _misconfigured_condition(status.conditions, message, generation, now, reason)
    return status.model_copy(update={"conditions": conditions}), message


@dataclass(frozen=True)
class Delivery:
    status: TrafficShiftStatus  # with the outbox as it now stands
    lost: tuple[Undeliverable, ...] = ()
    results: tuple[tuple[str, str], ...] = ()  # (provider, delivered | failed | given_up)


def _results(before: Sequence[PendingAlert], report: DispatchReport) -> tuple[tuple[str, str], ...]:
    tried = {a.key: a.attempts for a in before}
    failed = [a for a in report.pending if a.attempts > tried.get(a.key, a.attempts)]
    return (
        *((a.provider, "delivered") for a in report.delivered),
        *((a.provider, "failed") for a in failed),
        *((u.alert.provider, "given_up") for u in report.undeliverable),
    )


def deliver(deps: Dependencies, status: TrafficShiftStatus, now: datetime) -> Delivery:
    """Attempt the due alerts."""
    if deps.alerts is None or not status.pending_alerts:
        return Delivery(status)
    report = deps.alerts.dispatch(status.pending_alerts, now)
    if not report.changed:
        return Delivery(status)
    settled = settle(_book(status), report)
    updated = status.model_copy(
        update={"pending_alerts": list(settled.pending), "firing_alerts": list(settled.firing)}
    )
    return Delivery(updated, report.undeliverable, _results(status.pending_alerts, report))


def undeliverable_events(
    deps: Dependencies, obj: dict[str, Any], lost: Sequence[Undeliverable], now: datetime
) -> None:
    for item in lost:
        deps.cluster.record_event(
            obj, reason=UNDELIVERABLE_REASON, message=item.message, warning=True, now=now
        )
