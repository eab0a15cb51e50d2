"""One reconcile tick of one TrafficShift: read -> gates -> decide -> record -> write -> verify
-> confirm -> announce.

Order matters for crash safety. The decision is recorded in the status (``write_pending``)
before the VirtualService is touched, and confirmed only after the route reads back as meant;
a controller killed anywhere in between finishes the same write on its next tick instead of
deciding again. Events are sent only after the status write that records them succeeded, so a
tick redone after a 409 never announces a transition twice. The tick that would send the first
traffic to the canary runs the pre-flight of the custom gates' queries first
(``analysis.preflight``): a broken query makes the shift Invalid with the route untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from controller.alerts import ALERTS_MISCONFIGURED
from controller.analysis.batched import CheckRequest, evaluate_batch, request_for
from controller.analysis.evaluate import evaluate_gates
from controller.analysis.preflight import preflight, preflight_message
from controller.analysis.readings import evidence_from, needs_buckets, starting_evidence
from controller.api.judging import gate_judge
from controller.api.status import Evidence, GateStatus, Phase, TrafficShiftStatus
from controller.api.trafficshift import Judge, TrafficShift, TrafficShiftSpec
from controller.kube.errors import ConflictError, NotFoundError
from controller.reconcile import finalizing
from controller.reconcile.alerting import (
    deliver,
    newly_misconfigured,
    plan_alerts,
    undeliverable_events,
    with_misconfigured,
)
from controller.reconcile.board import GateBoard
from controller.reconcile.freshness import only_refreshes, refresh_round
from controller.reconcile.invalid import canary_exposed, mark_invalid, undo_exposed
from controller.reconcile.outcome import TickOutcome
from controller.reconcile.ports import Dependencies, Reads
from controller.reconcile.target import InvalidShiftError, Target, read_status, resolve
from controller.reconcile.vswrite import write_route
from controller.rollout import (
    Action,
    Decision,
    Observation,
    check_due,
    confirm_write,
    decide,
    effective_check_interval,
    gates_judged,
    may_let_go,
    parse_intent,
)
from controller.telemetry import get_logger

TICK_ATTEMPTS = 3


@dataclass(frozen=True)
class Checked:
    """One check's gate statuses, and the sequential judge's evidence after it (if any)."""

    gates: tuple[GateStatus, ...]
    evidence: Evidence | None = None


def reconcile_once(deps: Dependencies, namespace: str, name: str, now: datetime) -> TickOutcome:
    """Run one tick; a 409 on the status write re-reads and redoes it (a few times)."""
    for attempt in range(1, TICK_ATTEMPTS + 1):
        try:
            return _tick(deps, namespace, name, now)
        except ConflictError:
            get_logger(shift=name, namespace=namespace).info("status.conflict", attempt=attempt)
    return _tick(deps, namespace, name, now)


def _tick(deps: Dependencies, namespace: str, name: str, now: datetime) -> TickOutcome:
    try:
        obj = deps.cluster.get_shift(namespace, name)
    except NotFoundError:
        return TickOutcome(namespace, name, None, message="TrafficShift deleted")
    deleting = finalizing.deleting_since(obj) is not None
    if deleting and not finalizing.has_finalizer(obj):
        return TickOutcome(namespace, name, None, message="TrafficShift being deleted")
    try:
        if deps.memo is not None:
            target = deps.memo.resolve(
                deps.cluster, obj, deps.profiles, custom_namespaces=deps.custom_query_namespaces
            )
        else:
            target = resolve(
                deps.cluster, obj, deps.profiles, custom_namespaces=deps.custom_query_namespaces
            )
    except InvalidShiftError as exc:
        if deleting:
            return _deleted_while_invalid(deps, obj, str(exc), now)
        return mark_invalid(deps, obj, str(exc), now)
    return _run(deps, target, now)


def _deleted_while_invalid(
    deps: Dependencies, obj: dict[str, Any], problem: str, now: datetime
) -> TickOutcome:
    """A shift deleted while it cannot be resolved: there is no route this controller could
    safely write, so the delete goes on, and a Warning says where to look."""
    meta, status = obj["metadata"], obj.get("status") or {}
    message = f"TrafficShift deleted while it could not be resolved ({problem})."
    if canary_exposed(status):
        message += undo_exposed(deps, obj, status).said
    else:
        message += " Its canary had no traffic from it; no route was changed."
    get_logger(shift=meta["name"], namespace=meta["namespace"]).warning(
        "shift.deleted_while_invalid", message=message
    )
    deps.cluster.record_event(
        obj, reason="DeletedWhileInvalid", message=message, warning=True, now=now
    )
    finalizing.remove(deps.cluster, obj)
    return TickOutcome(str(meta["namespace"]), str(meta["name"]), None, message=message)


def _check_gates(deps: Dependencies, target: Target, now: datetime) -> Checked | None:
    spec = target.shift.spec
    if deps.board is not None:
        checked = _batched_check(deps.board, deps, target, now)
    elif check_due(spec, target.status, now, deps.check_interval):
        checked = _own_check(deps, target, now)
    else:
        checked = None
    if checked is None:
        return None
    log = get_logger(shift=target.name, namespace=target.namespace)
    for gate in checked.gates:
        log.info(
            "gate.checked",
            gate=gate.name,
            value=gate.value,
            verdict=str(gate.verdict),
            threshold=gate.threshold,
            query=gate.query,
            judge=gate.judge,
            **_evidence_fields(gate),
        )
    return checked


def _evidence_fields(gate: GateStatus) -> dict[str, Any]:
    evidence = gate.evidence
    if evidence is None:
        return {}
    return {
        "canary": f"{evidence.canary_events}/{evidence.canary_requests}",
        "stable": None
        if evidence.stable_requests is None
        else f"{evidence.stable_events}/{evidence.stable_requests}",
        "e_value": evidence.e_value,
        "bound": evidence.bound,
    }


def _request(target: Target, status: TrafficShiftStatus | None = None) -> CheckRequest:
    """The shift's check as of `status` (default: the status the tick started from)."""
    return request_for(
        (target.namespace, target.name),
        target.shift.spec,
        status if status is not None else target.status,
        target.gates,
        canary=target.selectors.canary,
        stable=target.selectors.stable,
        variables=target.variables,
    )


def _batched_check(
    board: GateBoard, deps: Dependencies, target: Target, now: datetime
) -> Checked | None:
    """Register the shift for the next round and take the last round's result for it."""
    shift = (target.namespace, target.name)
    status = target.status
    if status is None or not gates_judged(target.shift.spec, status):
        board.unregister(shift)
        return None
    spec = target.shift.spec
    interval = effective_check_interval(spec, deps.check_interval)
    board.register(shift, _request(target), interval)
    marks = [t for t in (status.last_check_at, status.step_started_at) if t is not None]
    posted = board.take_posted(shift, after=max(marks, default=None), now=now, interval=interval)
    return None if posted is None else Checked(posted.gates, posted.evidence)


def _first_move(target: Target, decision: Decision) -> bool:
    """Whether this tick sends the shift's first traffic to the canary (step 1 from step 0):
    the moment for the pre-flight of its custom gates."""
    if decision.action is not Action.SET_WEIGHT or decision.status.current_step != 1:
        return False
    before = _current_status(target)
    return before is None or before.current_step == 0


def _with_starting_evidence(
    deps: Dependencies, target: Target, decision: Decision, now: datetime
) -> Decision:
    """A shift about to send its first step to the canary reads its counters first, so the
    sequential judge counts from the step's start rather than from its first check."""
    status = decision.status
    if decision.action is not Action.SET_WEIGHT or status.current_step != 1:
        return decision
    if status.evidence is not None:
        return decision
    request = _request(target, status)
    query = deps.prometheus.instant_query
    if deps.board is None:
        evidence = starting_evidence(request, query, now)
    else:
        evidence = _starting_evidence_from_board(deps.board, deps, target, request, now)
    if evidence is None:
        return decision
    return replace(decision, status=status.model_copy(update={"evidence": evidence}))


def _starting_evidence_from_board(
    board: GateBoard, deps: Dependencies, target: Target, request: CheckRequest, now: datetime
) -> Evidence | None:
    """The base from the last round's reading of the shift's namespace, if fresh: no query of
    its own, so a thousand shifts starting at once cost none. Only when that reading lacks what
    the shift needs (the edge of a latency threshold between two edges, count gates' own
    counters) does it read its counters itself, once."""
    found = board.counters(
        request.canary.reporter,
        {request.canary.namespace, request.stable.namespace},
        buckets=needs_buckets(request.gates),
        now=now,
        max_age=effective_check_interval(target.shift.spec, deps.check_interval),
    )
    if found is None:
        return None  # the first check takes the base instead
    evidence = evidence_from(request, found[0], now, edges=found[1])
    if evidence is None:
        evidence = starting_evidence(request, deps.prometheus.instant_query, now)
    return evidence


def _register_next(
    board: GateBoard, deps: Dependencies, target: Target, decided: TrafficShiftStatus
) -> None:
    """After a check, the next round's request carries what this tick decided (the evidence
    it took, a new step), not the status the tick started from: a round that comes before the
    shift's next tick must not count from stale evidence."""
    shift = (target.namespace, target.name)
    spec = target.shift.spec
    if not gates_judged(spec, decided):
        board.unregister(shift)
        return
    board.register(
        shift, _request(target, decided), effective_check_interval(spec, deps.check_interval)
    )


def _own_check(deps: Dependencies, target: Target, now: datetime) -> Checked:
    spec = target.shift.spec
    if any(gate_judge(g, spec.analysis.judge) is Judge.SEQUENTIAL for g in target.gates):
        # The sequential judge reads cumulative counters: the same queries as a round of one.
        result = evaluate_batch([_request(target)], client=deps.prometheus, now=now, narrow=True)
        key = (target.namespace, target.name)
        return Checked(tuple(result.statuses[key]), result.evidence.get(key))
    statuses = evaluate_gates(
        target.gates,
        canary=target.selectors.canary,
        stable=target.selectors.stable,
        window=spec.analysis.window,
        min_requests=spec.analysis.min_requests,
        client=deps.prometheus,
        now=now,
        variables=target.variables,
        stable_fallback=_request(target).stable_fallback,
    )
    return Checked(tuple(statuses), None)


def _current_status(target: Target) -> TrafficShiftStatus | None:
    """The status to decide from. A shift that was Invalid and now resolves (its VirtualService
    or DestinationRule was fixed, or its spec) starts over, keeping its history and the last
    handled operator intent (so an old abort annotation is not carried out on the new start)."""
    status = target.status
    if status is not None and status.phase is Phase.INVALID:
        return TrafficShiftStatus(history=status.history, last_intent=status.last_intent)
    return status


class _Recorder:
    """Writes the shift's status, always at the resourceVersion of its own last write."""

    def __init__(self, deps: Dependencies, obj: dict[str, Any], status: TrafficShiftStatus | None):
        self.deps = deps
        self.obj = obj
        self.status = status

    def write(self, status: TrafficShiftStatus) -> None:
        if status != self.status:
            self.obj = self.deps.cluster.replace_shift_status(_with_status(self.obj, status))
            self.status = status

    def event(self, reason: str, message: str, now: datetime, *, warning: bool = True) -> None:
        self.deps.cluster.record_event(
            self.obj, reason=reason, message=message, warning=warning, now=now
        )


def _run(deps: Dependencies, target: Target, now: datetime) -> TickOutcome:
    if _still_quiet(deps, target, now):
        return _quiet_outcome(target)
    spec = target.shift.spec
    deleting = finalizing.deleting_since(target.obj) is not None
    checked = None if deleting else _check_gates(deps, target, now)
    gates = None if checked is None else checked.gates
    observation = Observation(
        target.live_weight,
        gates,
        parse_intent(target.shift.metadata.annotations),
        evidence=None if checked is None else checked.evidence,
        deleting=deleting,
    )
    decision = decide(
        spec, target.generation, _current_status(target), observation, now, policy=deps.policy
    )
    decision = _with_starting_evidence(deps, target, decision, now)
    if _first_move(target, decision):
        problems = preflight(_request(target, decision.status), deps.prometheus)
        if problems:
            return mark_invalid(deps, target.obj, preflight_message(problems), now)
    planned = plan_alerts(
        deps,
        target.shift,
        previous=target.status,
        decided=decision.status,
        transitions=decision.transitions,
        now=now,
    )
    obj = target.obj
    if deps.finalizers and decision.action is Action.SET_WEIGHT:
        obj = finalizing.add(deps.cluster, obj)  # before any traffic moves: see finalizing
    recorder = _Recorder(deps, obj, target.status)
    if gates is None or _worth_recording(deps, target, decision, planned.status, now):
        recorder.write(planned.status)  # the decision and the alerts it owes, before any VS write
    _announce(deps, recorder.obj, target, decision, now)
    if newly_misconfigured(target.status, planned.misconfigured):
        recorder.event(ALERTS_MISCONFIGURED, planned.misconfigured, now)
    undeliverable_events(deps, recorder.obj, planned.dropped, now)
    action, weight = _write_needed(target, decision)
    confirmed, message = True, planned.status.message
    if action is not Action.NONE:
        result = write_route(
            deps.cluster,
            target.namespace,
            spec,
            action,
            weight,
            observed=target.virtual_service,
            shift=target.name,
        )
        confirmed = result.confirmed
        if confirmed:
            _confirm(recorder, now)
        else:
            message = result.message
            recorder.event(
                "WriteNotConfirmed",
                (
                    f"VirtualService {target.namespace}/{spec.virtual_service} was not "
                    f"confirmed at {weight}% {spec.canary}: {result.message}. Retrying next tick."
                ),
                now,
            )
    alert_results = _deliver(recorder, target.shift, now)
    final = recorder.status or planned.status
    _finalize(recorder, spec, final, now, deleting=deleting)
    if deps.board is not None and checked is not None:
        _register_next(deps.board, deps, target, decision.status)
    if deps.memo is not None:
        quiet = not (decision.transitions or alert_results or planned.dropped)
        quiet = quiet and action is Action.NONE and recorder.obj is target.obj
        deps.memo.mark_quiet(target, quiet and _settled(final))
    return _outcome(
        target,
        final,
        action=action,
        transitions=decision.transitions,
        gates=gates or (),
        write_confirmed=confirmed,
        message=message,
        alert_deliveries=alert_results,
    )


def _finalize(
    recorder: _Recorder,
    spec: TrafficShiftSpec,
    status: TrafficShiftStatus,
    now: datetime,
    *,
    deleting: bool,
) -> None:
    """Remove the finalizer once it has nothing left to guard: the shift ended (promoted or
    rolled back, confirmed, alerts sent), or it is being deleted and ``onDelete`` is done."""
    if not finalizing.has_finalizer(recorder.obj):
        return
    if not deleting:
        ended = status.phase in (Phase.PROMOTED, Phase.ROLLED_BACK)
        if ended and not status.write_pending and not status.pending_alerts:
            recorder.obj = finalizing.remove(recorder.deps.cluster, recorder.obj)
        return
    if not may_let_go(spec, status):
        return
    if status.pending_alerts:
        if not finalizing.alerts_overdue(recorder.obj, now):
            return  # delivered by the next ticks, within the grace
        owed = ", ".join(sorted({a.provider for a in status.pending_alerts}))
        recorder.event(
            "AlertsNotDelivered",
            f"TrafficShift deleted with alerts still owed to {owed}: they were not delivered "
            f"within {finalizing.DELETE_ALERT_GRACE} and are dropped with the shift.",
            now,
        )
    recorder.obj = finalizing.remove(recorder.deps.cluster, recorder.obj)


def _outcome(target: Target, status: TrafficShiftStatus, **details: Any) -> TickOutcome:
    details.setdefault("message", status.message)
    return TickOutcome(
        target.namespace,
        target.name,
        status.phase,
        weight=status.canary_weight,
        step=status.current_step,
        status=status,
        **details,
    )


_QUIET_PHASES = (Phase.PROGRESSING, Phase.PAUSED)


def _settled(status: TrafficShiftStatus) -> bool:
    """A status no tick changes until something new arrives: a gate result on the board, or an
    edit of the shift, its VirtualService or its DestinationRule (each a new resourceVersion).
    Not Holding (its deadline runs on the clock), no write to confirm, no alert to deliver."""
    return status.phase in _QUIET_PHASES and not status.write_pending and not status.pending_alerts


def _still_quiet(deps: Dependencies, target: Target, now: datetime) -> bool:
    """Whether this tick can be skipped: batched rounds and the watch cache are on, the last
    tick of this very Target (same objects, same versions) wrote, sent and decided nothing from
    a settled status, and no new gate result is waiting on the board. It would decide the same
    nothing again; most ticks of a thousand shifts between rounds are such ticks."""
    if deps.memo is None or deps.board is None or not deps.memo.is_quiet(target):
        return False
    return not deps.board.ready((target.namespace, target.name), now)


def quiet_now(deps: Dependencies, cached: Reads, namespace: str, name: str, now: datetime) -> bool:
    """Whether a tick of the shift now would be skipped as quiet (see `_still_quiet`), judged
    from `cached` (the watch cache's objects; no request): lets the scheduler not start it."""
    if deps.memo is None or deps.board is None:
        return False
    target = deps.memo.peek(cached, cached.get_shift(namespace, name))
    return target is not None and _still_quiet(deps, target, now)


def _quiet_outcome(target: Target) -> TickOutcome:
    if target.status is None:  # a settled tick recorded a status; never reached
        return TickOutcome(target.namespace, target.name, None)
    return _outcome(target, target.status)


def _worth_recording(
    deps: Dependencies,
    target: Target,
    decision: Decision,
    status: TrafficShiftStatus,
    now: datetime,
) -> bool:
    """For a tick that checked the gates: False only for a batched check that refreshed
    numbers alone, outside the shift's refresh round (see ``freshness``)."""
    if deps.board is None or decision.action is not Action.NONE or decision.transitions:
        return True
    if not only_refreshes(target.status, status):
        return True
    interval = effective_check_interval(target.shift.spec, deps.check_interval)
    return refresh_round(target.namespace, target.name, now, interval)


def _deliver(
    recorder: _Recorder, shift: TrafficShift, now: datetime
) -> tuple[tuple[str, str], ...]:
    """Send what the outbox owes; clear what was delivered. A 409 here only delays the
    clearing: the next tick may deliver again, and receivers drop repeats by dedup key. What a
    delivery finds wrong in the controller's own alert settings is in the AlertsMisconfigured
    condition, with a Warning Event, at once."""
    if recorder.status is None:
        return ()
    before = recorder.status
    delivery = deliver(recorder.deps, before, now)
    status, misconfigured = delivery.status, ""
    if delivery.results:
        status, misconfigured = with_misconfigured(recorder.deps, shift, status, now)
    try:
        recorder.write(status)
    except ConflictError:
        get_logger(shift=recorder.obj["metadata"]["name"]).info("alerts.clear_deferred")
        return delivery.results
    if delivery.results and newly_misconfigured(before, misconfigured):
        recorder.event(ALERTS_MISCONFIGURED, misconfigured, now)
    undeliverable_events(recorder.deps, recorder.obj, delivery.lost, now)
    return delivery.results


def _write_needed(target: Target, decision: Decision) -> tuple[Action, int]:
    """The write this tick owes the VirtualService.

    Besides ``decision.action``, a confirmed final phase whose route is not yet in its final
    single-destination form (a promote that was cut short after 100% was written as a split) gets
    its promote or rollback written again; that changes no traffic, only the route's shape. A
    split at another weight was set by someone else after the shift ended: it is left alone.
    """
    if decision.action is not Action.NONE:
        return decision.action, decision.weight
    status = decision.status
    if status.phase not in (Phase.PROMOTED, Phase.ROLLED_BACK) or status.write_pending:
        return Action.NONE, status.canary_weight
    if target.live_weight != status.canary_weight:
        return Action.NONE, status.canary_weight
    route = target.virtual_service.get("spec", {}).get("http", [])[target.managed.index]
    if len(route.get("route") or []) == 1:
        return Action.NONE, status.canary_weight
    final = Action.PROMOTE if status.phase is Phase.PROMOTED else Action.ROLLBACK
    return final, status.canary_weight


def _confirm(recorder: _Recorder, now: datetime) -> None:
    """Record that the write took."""
    if recorder.status is None:
        return
    try:
        recorder.write(confirm_write(recorder.status, now))
    except ConflictError:
        # The next tick sees write_pending with the route already right, and confirms then.
        get_logger(shift=recorder.obj["metadata"]["name"]).info("confirm.deferred")


def _announce(
    deps: Dependencies, recorded: dict[str, Any], target: Target, decision: Decision, now: datetime
) -> None:
    if not decision.transitions:
        return  # a quiet tick builds no logger
    log = get_logger(
        shift=target.name,
        namespace=target.namespace,
        step=decision.status.current_step,
        weight=decision.status.canary_weight,
    )
    for transition in decision.transitions:
        log.info(
            "shift.transition",
            warning=transition.warning,
            reason=transition.reason,
            message=transition.message,
            phase=str(decision.status.phase),
        )
        deps.cluster.record_event(
            recorded,
            reason=transition.reason,
            message=transition.message,
            warning=transition.warning,
            now=now,
        )


def _with_status(obj: dict[str, Any], status: TrafficShiftStatus) -> dict[str, Any]:
    return {**obj, "status": status.model_dump(mode="json", by_alias=True, exclude_none=True)}


__all__ = ["TickOutcome", "read_status", "reconcile_once"]
