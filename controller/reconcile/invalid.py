"""Recording that a TrafficShift cannot run: phase Invalid, a message that says what to fix, a
Warning event - and no write to its VirtualService, unless its canary has traffic.

A shift that goes Invalid mid-shift (its spec edited into one the controller refuses, a
DestinationRule subset removed) cannot be judged any more, so its canary would be left exposed
with nothing watching it. When its status records canary traffic, the route is rolled back to
stable first (`undo_exposed`), with the rollback alert, if the spec still names a VirtualService
and subsets to do it with and no other shift owns the route; otherwise the message says the
canary still has its share and where to set it by hand. The VirtualService is written first
and the status after: a controller killed in between finds the canary weight still recorded and
rolls back again, which changes nothing the second time.

Works on the raw status dict, because one reason for invalidity is a status this controller
cannot read. The same problem at the same generation is recorded once, not on every tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from controller.alerts import AlertBook, ShiftFacts, Undeliverable, plan, settle
from controller.api.alerting import AlertEvent, PendingAlert
from controller.api.status import Phase, RollbackCause
from controller.api.trafficshift import AlertRoute, TrafficShiftSpec
from controller.kube.errors import ConflictError, NotFoundError
from controller.kube.events import format_time
from controller.reconcile.alerting import undeliverable_events
from controller.reconcile.outcome import TickOutcome
from controller.reconcile.ports import Dependencies
from controller.reconcile.vswrite import write_route
from controller.rollout import Action, Transition
from controller.routing import RoutingError, find_managed_route
from controller.routing.ownership import owner_of
from controller.telemetry import get_logger

INVALID_REASON = "InvalidSpec"
ROLLED_BACK_REASON = "RolledBackInvalid"
_ROUTE_FIELDS = ("virtualService", "route", "host", "stable", "canary")
_ROUTES = TypeAdapter(list[AlertRoute])


@dataclass(frozen=True)
class Undone:
    """What became of a canary that had traffic when the shift went Invalid."""

    said: str  # appended to the Invalid message
    rolled_back: bool


def canary_exposed(raw: dict[str, Any]) -> bool:
    return int(raw.get("canaryWeight") or 0) > 0 or bool(raw.get("writePending"))


def undo_exposed(deps: Dependencies, obj: dict[str, Any], raw: dict[str, Any]) -> Undone:
    """Send the route back to stable, if the spec still says where and the route is ours."""
    meta, spec = obj["metadata"], obj.get("spec") or {}
    namespace, name = str(meta["namespace"]), str(meta["name"])
    weight = int(raw.get("canaryWeight") or 0)
    left = (
        f" The canary had {weight}% of the traffic and still has it: set the route's weights "
        "yourself"
    )
    try:
        routed = TrafficShiftSpec.model_validate(
            {**{k: spec[k] for k in _ROUTE_FIELDS if k in spec}, "steps": [100]}
        )
    except ValidationError:
        return Undone(f"{left} (the spec no longer names a VirtualService and subsets).", False)
    try:
        vs = deps.cluster.get_virtual_service(namespace, routed.virtual_service)
    except NotFoundError:
        return Undone(f"{left} (VirtualService {routed.virtual_service} is gone).", False)
    try:
        managed = find_managed_route(
            vs.get("spec") or {},
            stable=routed.stable,
            canary=routed.canary,
            host=routed.host,
            route=routed.route,
        )
    except RoutingError as exc:
        return Undone(f"{left} ({exc}).", False)
    owner = owner_of(vs, managed)
    if owner is not None and owner != name:
        return Undone(f"{left} (TrafficShift {owner} manages the route now).", False)
    result = write_route(
        deps.cluster, namespace, routed, Action.ROLLBACK, 0, observed=vs, shift=name
    )
    if not result.confirmed:
        return Undone(f"{left} (the rollback was not confirmed: {result.message}).", False)
    return Undone(
        f" Its canary had {weight}% of the traffic, so VirtualService {routed.virtual_service} "
        f"was rolled back to '{routed.stable}' (read back and confirmed).",
        True,
    )


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
    others = [
        c for c in raw.get("conditions") or [] if c.get("type") not in ("Valid", "Progressing")
    ]
    stopped = [
        {
            "type": kind,
            "status": "False",
            "reason": INVALID_REASON,
            "message": message,
            "lastTransitionTime": stamp,
            "observedGeneration": generation,
        }
        for kind in ("Valid", "Progressing")
    ]
    return {
        **raw,
        "phase": Phase.INVALID.value,
        "message": message,
        "observedGeneration": generation,
        "history": history,
        "conditions": [*others, *stopped],
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
    obj: dict[str, Any],
    raw: dict[str, Any],
    message: str,
    generation: int,
    now: datetime,
    *,
    rolled_back: bool = False,
) -> tuple[dict[str, Any], tuple[Undeliverable, ...]]:
    book = AlertBook(_outbox(raw, "pendingAlerts"), _outbox(raw, "firingAlerts"))
    triggers = [Transition(INVALID_REASON, message, warning=True, alert_event=AlertEvent.INVALID)]
    if rolled_back:
        triggers.append(
            Transition(ROLLED_BACK_REASON, message, warning=True, alert_event=AlertEvent.ROLLBACK)
        )
    book = plan(book, triggers, _routes(obj), _facts(obj, raw, generation), now)
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


def _valid_message(raw: dict[str, Any]) -> str | None:
    """The problem recorded on the Valid condition (the phase message may say more)."""
    for condition in raw.get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "Valid":
            return str(condition.get("message") or "")
    return None


def _with_valid_message(status: dict[str, Any], problem: str) -> dict[str, Any]:
    conditions = [
        {**c, "message": problem} if c.get("type") == "Valid" else c
        for c in status.get("conditions") or []
    ]
    return {**status, "conditions": conditions}


def mark_invalid(
    deps: Dependencies, obj: dict[str, Any], message: str, now: datetime
) -> TickOutcome:
    meta = obj["metadata"]
    namespace, name = str(meta["namespace"]), str(meta["name"])
    generation = int(meta.get("generation") or 1)
    raw = dict(obj.get("status") or {})
    problem = message
    same_problem = (
        raw.get("phase") == Phase.INVALID.value
        and _valid_message(raw) == problem
        and raw.get("observedGeneration") == generation
    )
    undone = undo_exposed(deps, obj, raw) if canary_exposed(raw) else None
    if undone is not None:
        message = message.rstrip(". ") + "." + undone.said
    # A canary that could not be rolled back is tried again on every tick of the shift, but
    # recorded (and announced) again only when something about it changed.
    if undone is None:
        already = same_problem
    else:
        already = same_problem and not undone.rolled_back and raw.get("message") == message
    recorded = obj
    if not already:
        status = _invalid_status(raw, message, generation, now, deps.policy.history_limit)
        if undone is not None and undone.rolled_back:
            cause = RollbackCause.INVALID.value
            status = {**status, "canaryWeight": 0, "writePending": False, "rollbackCause": cause}
        status = _with_valid_message(status, problem)
        status, dropped = _queue_invalid_alert(
            obj,
            status,
            message,
            generation,
            now,
            rolled_back=undone is not None and undone.rolled_back,
        )
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
