"""Recording that a TrafficShift cannot run: phase Invalid, a message that says what to fix, a
Warning event - and no write to its VirtualService.

Works on the raw status dict, because one reason for invalidity is a status this controller
cannot read. The same problem at the same generation is recorded once, not on every tick.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from controller.alerts import AlertBook, ShiftFacts, Undeliverable, plan, settle
from controller.api.alerting import AlertEvent, PendingAlert
from controller.api.status import Phase
from controller.api.trafficshift import AlertRoute
from controller.kube.errors import ConflictError
from controller.kube.events import format_time
from controller.reconcile.alerting import undeliverable_events
from controller.reconcile.outcome import TickOutcome
from controller.reconcile.ports import Dependencies
from controller.rollout import Transition
from controller.telemetry import get_logger

INVALID_REASON = "InvalidSpec"
_ROUTES = TypeAdapter(list[AlertRoute])


def _invalid_status(
    raw: dict[str, Any], message: str, generation: int, now: datetime, history_limit: int
) -> dict[str, Any]:
    stamp = format_time(now)
    history = [
        *list(raw.get("history") or []),
        {
            "time": stamp,
            "phase": Phase.INVALID.value,
            "step": int(raw.get("currentStep") or 0),
            "weight": int(raw.get("canaryWeight") or 0),
            "reason": INVALID_REASON,
            "message": message,
        },
    ][-history_limit:]
    others = [c for c in raw.get("conditions") or [] if c.get("type") != "Valid"]
    valid = {
        "type": "Valid",
        "status": "False",
        "reason": INVALID_REASON,
        "message": message,
        "lastTransitionTime": stamp,
        "observedGeneration": generation,
    }
    return {
        **raw,
        "phase": Phase.INVALID.value,
        "message": message,
        "observedGeneration": generation,
        "history": history,
        "conditions": [*others, valid],
    }


def _routes(obj: dict[str, Any]) -> list[AlertRoute]:
    """The shift's alert routes, read on their own: the rest of its spec may be broken."""
    try:
        return _ROUTES.validate_python((obj.get("spec") or {}).get("alerts") or [])
    except ValidationError:
        return []


def _outbox(raw: dict[str, Any], key: str) -> tuple[PendingAlert, ...]:
    entries: list[PendingAlert] = []
    for item in raw.get(key) or []:
        try:
            entries.append(PendingAlert.model_validate(item))
        except ValidationError:
            continue  # an entry we cannot read cannot be delivered either
    return tuple(entries)


def _facts(obj: dict[str, Any], raw: dict[str, Any], generation: int) -> ShiftFacts:
    spec = obj.get("spec") or {}
    steps = spec.get("steps")
    return ShiftFacts(
        namespace=str(obj["metadata"]["namespace"]),
        name=str(obj["metadata"]["name"]),
        generation=generation,
        virtual_service=str(spec.get("virtualService") or ""),
        canary=str(spec.get("canary") or ""),
        stable=str(spec.get("stable") or ""),
        step=int(raw.get("currentStep") or 0),
        steps=len(steps) if isinstance(steps, list) else 0,
        weight=int(raw.get("canaryWeight") or 0),
    )


def _queue_invalid_alert(
    obj: dict[str, Any], raw: dict[str, Any], message: str, generation: int, now: datetime
) -> tuple[dict[str, Any], tuple[Undeliverable, ...]]:
    book = AlertBook(_outbox(raw, "pendingAlerts"), _outbox(raw, "firingAlerts"))
    trigger = Transition(INVALID_REASON, message, warning=True, alert_event=AlertEvent.INVALID)
    book = plan(book, [trigger], _routes(obj), _facts(obj, raw, generation), now)
    return _with_outbox(raw, book), book.dropped


def _with_outbox(raw: dict[str, Any], book: AlertBook) -> dict[str, Any]:
    return {
        **raw,
        "pendingAlerts": [a.model_dump(mode="json", by_alias=True) for a in book.pending],
        "firingAlerts": [a.model_dump(mode="json", by_alias=True) for a in book.firing],
    }


def _deliver(deps: Dependencies, obj: dict[str, Any], now: datetime) -> None:
    raw = dict(obj.get("status") or {})
    pending = _outbox(raw, "pendingAlerts")
    if deps.alerts is None or not pending:
        return
    report = deps.alerts.dispatch(pending, now)
    if not report.changed:
        return
    book = settle(AlertBook(pending, _outbox(raw, "firingAlerts")), report)
    try:
        obj = deps.cluster.replace_shift_status({**obj, "status": _with_outbox(raw, book)})
    except ConflictError:
        return  # delivered again next tick at worst; receivers drop repeats by dedup key
    undeliverable_events(deps, obj, report.undeliverable, now)


def mark_invalid(
    deps: Dependencies, obj: dict[str, Any], message: str, now: datetime
) -> TickOutcome:
    meta = obj["metadata"]
    namespace, name = str(meta["namespace"]), str(meta["name"])
    generation = int(meta.get("generation") or 1)
    raw = dict(obj.get("status") or {})
    already = (
        raw.get("phase") == Phase.INVALID.value
        and raw.get("message") == message
        and raw.get("observedGeneration") == generation
    )
    recorded = obj
    if not already:
        status = _invalid_status(raw, message, generation, now, deps.policy.history_limit)
        status, dropped = _queue_invalid_alert(obj, status, message, generation, now)
        recorded = deps.cluster.replace_shift_status({**obj, "status": status})
        get_logger(shift=name, namespace=namespace).warning("shift.invalid", message=message)
        deps.cluster.record_event(
            recorded, reason=INVALID_REASON, message=message, warning=True, now=now
        )
        undeliverable_events(deps, recorded, dropped, now)
    _deliver(deps, recorded, now)
    return TickOutcome(
        namespace,
        name,
        Phase.INVALID,
        weight=int(raw.get("canaryWeight") or 0),
        step=int(raw.get("currentStep") or 0),
        message=message,
    )
