"""The rollout state machine's entry points: `decide`, `confirm_write` and `check_due`.

`check_due` (with `effective_check_interval`) sets the pace of gate checks within a step: the
shift's ``analysis.checkInterval`` when set, else the controller-wide interval.

`decide` routes one tick to the branch that owns the shift's situation (``lifecycle.py`` for
start, spec changes, pending writes, pause and drift; ``intents.py`` for an operator's promote,
abort or retry; ``progress.py`` for judging a step), then
applies what every decision shares: observed generation, the write-pending flag, conditions and
history. It reads no clock and does no I/O, so a tick can be replayed exactly.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from controller.api.status import Phase, RollbackCause, TrafficShiftStatus
from controller.api.trafficshift import TrafficShiftSpec
from controller.rollout import conditions, deletion, intents, lifecycle
from controller.rollout.decision import Action, Decision, Observation, Policy
from controller.rollout.history import record_transitions
from controller.rollout.identity import shift_hash
from controller.rollout.progress import progress
from controller.rollout.tick import Outcome, Tick, evolve, stay

_MID_SHIFT = (Phase.PROGRESSING, Phase.HOLDING, Phase.PAUSED)
_JUDGED = (Phase.PROGRESSING, Phase.HOLDING)


def decide(
    spec: TrafficShiftSpec,
    generation: int,
    status: TrafficShiftStatus | None,
    observation: Observation,
    now: datetime,
    *,
    policy: Policy | None = None,
) -> Decision:
    """The next status and VirtualService action for one reconcile tick of one shift."""
    tick = Tick(spec, generation, observation, now, policy or Policy())
    current = status if status is not None else TrafficShiftStatus()
    return _finish(tick, _route(tick, current))


def confirm_write(status: TrafficShiftStatus, now: datetime) -> TrafficShiftStatus:
    """The status to write once the VirtualService reads back with the recorded weight."""
    return lifecycle.confirm_write(status, now)


def gates_judged(spec: TrafficShiftSpec, status: TrafficShiftStatus) -> bool:
    """Whether the shift's gates are checked at all now: it is Progressing or Holding, not
    paused, with no route write waiting to be confirmed."""
    return not status.write_pending and not spec.paused and status.phase in _JUDGED


def check_due(
    spec: TrafficShiftSpec,
    status: TrafficShiftStatus | None,
    now: datetime,
    check_interval: timedelta,
) -> bool:
    """Whether the reconcile loop should run the gates before calling `decide` this tick.

    `check_interval` is the controller-wide default; the shift's ``analysis.checkInterval``
    wins when set."""
    if status is None or not gates_judged(spec, status):
        return False
    last = status.last_check_at
    if last is None:
        return True
    # A check at the very tick a step began judged the step before it.
    if status.step_started_at is not None and last <= status.step_started_at:
        return True
    return now - last >= effective_check_interval(spec, check_interval)


def effective_check_interval(spec: TrafficShiftSpec, default: timedelta) -> timedelta:
    """Time between gate checks for this shift: ``analysis.checkInterval``, else `default`."""
    own = spec.analysis.check_interval
    return own if own is not None else default


def _route(tick: Tick, status: TrafficShiftStatus) -> Outcome:
    settled = _settle(tick, status)
    return settled if settled is not None else _run(tick, status)


def _settle(tick: Tick, status: TrafficShiftStatus) -> Outcome | None:
    """Outcomes that come before any judging: starting over, finishing a recorded write, or
    leaving a finished shift alone. None when the shift simply runs on."""
    if tick.observation.deleting:
        return deletion.on_delete(tick, status)  # never starts again, whatever else changed
    if _starts_again(tick, status):
        return lifecycle.start(tick, status, after=status.phase)
    if status.phase is Phase.INVALID:
        return stay(status)
    if status.phase in _MID_SHIFT and status.current_step > 0 and _spec_changed(tick, status):
        return lifecycle.roll_back_for_new_spec(tick, status)
    if status.write_pending:
        return lifecycle.finish_pending_write(tick, status)
    return _operated(tick, status)


def _operated(tick: Tick, status: TrafficShiftStatus) -> Outcome | None:
    """An operator's intent, after a pending write is finished (the intent waits that tick)
    and before a finished shift is left alone (retry acts on a RolledBack shift)."""
    intent = intents.pending_intent(tick, status)
    if intent is not None:
        return intents.carry_out(tick, status, intent)
    if status.phase.is_final:
        return stay(status)
    return None


def _run(tick: Tick, status: TrafficShiftStatus) -> Outcome:
    if status.phase is Phase.PENDING or status.current_step == 0:
        return lifecycle.start(tick, status)
    if tick.spec.paused:
        return lifecycle.pause(tick, status)
    if tick.observation.live_weight != status.canary_weight:
        return lifecycle.drifted(tick, status)
    if status.phase is Phase.PAUSED:
        return lifecycle.resume(tick, status)
    return progress(tick, status)


def _spec_changed(tick: Tick, status: TrafficShiftStatus) -> bool:
    # An empty hash was never recorded by us (a hand-written status): adopt, don't roll back.
    return bool(status.shift_hash) and status.shift_hash != shift_hash(tick.spec)


def _starts_again(tick: Tick, status: TrafficShiftStatus) -> bool:
    """A finished shift starts over: Promoted for a new canary (another shift identity),
    RolledBack or Invalid for any spec edit (the user wants another try)."""
    if status.phase is Phase.PROMOTED:
        return _spec_changed(tick, status)
    if status.phase in (Phase.ROLLED_BACK, Phase.INVALID):
        return status.observed_generation != tick.generation
    return False


def _finish(tick: Tick, outcome: Outcome) -> Decision:
    writes = outcome.action is not Action.NONE
    status = evolve(
        outcome.status,
        observed_generation=tick.generation,
        write_pending=writes,
        weight_before_write=tick.observation.live_weight if writes else None,
    )
    found = list(status.conditions)
    updates = list(outcome.conditions)
    if outcome.transitions:
        last = outcome.transitions[-1]
        updates.append(conditions.progressing_update(status.phase, last.reason, last.message))
        if status.phase.is_final:
            updates.append(conditions.drift_not_watched())
    updates.append(conditions.healthy_update(status, tick.spec.analysis.on_no_data))
    for update in updates:
        found = conditions.apply_condition(found, update, tick.now, tick.generation)
    history = record_transitions(
        status.history, outcome.transitions, status, tick.now, tick.policy.history_limit
    )
    message = outcome.transitions[-1].message if outcome.transitions else status.message
    final = evolve(
        status,
        conditions=found,
        history=history,
        message=message,
        rollback_cause=_rollback_cause(outcome, status),
    )
    return Decision(
        outcome.action, _target_weight(outcome.action, final), final, outcome.transitions
    )


def _rollback_cause(outcome: Outcome, status: TrafficShiftStatus) -> RollbackCause | None:
    """The cause of this tick's rollback; a rolled-back shift keeps its cause, any other phase
    has none (a retry or a new spec starts clean)."""
    if status.phase is not Phase.ROLLED_BACK:
        return None
    causes = [t.cause for t in outcome.transitions if t.cause is not None]
    return causes[-1] if causes else status.rollback_cause


def _target_weight(action: Action, status: TrafficShiftStatus) -> int:
    if action is Action.PROMOTE:
        return 100
    if action is Action.ROLLBACK:
        return 0
    return status.canary_weight
