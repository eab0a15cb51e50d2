"""The branches of a shift's life outside gate judging: start, restart after a spec change,
finishing an interrupted VirtualService write, pause and resume, and drift.
"""

from __future__ import annotations

from datetime import datetime

from controller.api.status import Phase, TrafficShiftStatus
from controller.rollout import conditions, transitions
from controller.rollout.decision import Action
from controller.rollout.identity import shift_hash
from controller.rollout.tick import Outcome, Tick, evolve, stay


def reset(status: TrafficShiftStatus, tick: Tick, phase: Phase) -> TrafficShiftStatus:
    """The status of a shift that has taken no step yet; history and conditions are kept."""
    return evolve(
        status,
        phase=phase,
        current_step=0,
        step_started_at=None,
        holding_since=None,
        checks_passing_since=None,
        failed_checks=0,
        write_pending=False,
        last_check_at=None,
        gates=[],
        evidence=None,
        shift_hash=shift_hash(tick.spec),
    )


def start(tick: Tick, status: TrafficShiftStatus, after: Phase | None = None) -> Outcome:
    """Take the first step at once, or wait paused before it while spec.paused is set.

    `after` names the final phase this start restarts from, for the message.
    """
    if tick.spec.paused:
        waiting = reset(status, tick, Phase.PAUSED)
        entered = () if status.phase is Phase.PAUSED else (transitions.paused(tick.spec, waiting),)
        return Outcome(Action.NONE, waiting, entered, (conditions.drift_unknown(),))
    first = evolve(
        reset(status, tick, Phase.PROGRESSING),
        current_step=1,
        canary_weight=tick.spec.steps[0],
        step_started_at=tick.now,
    )
    started = transitions.shift_started(tick.spec, first, after)
    return Outcome(Action.SET_WEIGHT, first, (started,), (conditions.drift_unknown(),))


def roll_back_for_new_spec(tick: Tick, status: TrafficShiftStatus) -> Outcome:
    """The recorded step belongs to another spec: go back to stable, then start over."""
    pending = evolve(reset(status, tick, Phase.PENDING), canary_weight=0)
    told = transitions.spec_changed(tick.spec, status)
    return Outcome(Action.ROLLBACK, pending, (told,), (conditions.drift_unknown(),))


def rewrite_action(status: TrafficShiftStatus) -> Action:
    """The VirtualService write that the recorded status stands for."""
    if status.phase is Phase.PROMOTED:
        return Action.PROMOTE
    if status.phase in (Phase.ROLLED_BACK, Phase.PENDING):
        return Action.ROLLBACK
    return Action.SET_WEIGHT


_STEPPING = (Phase.PROGRESSING, Phase.HOLDING)


def finish_pending_write(tick: Tick, status: TrafficShiftStatus) -> Outcome:
    """A recorded write may not have reached the VirtualService: confirm it or redo it as is.

    Never a new transition or step here: the decision was already made and announced, and
    taking it again is exactly the double step a restart must not cause.
    """
    live = tick.observation.live_weight
    if live == status.canary_weight:
        return stay(confirm_write(status, tick.now))
    before = status.weight_before_write
    # Neither where we were nor where we were going: someone else set this weight mid-step.
    # A pending rollback or promote is finished regardless: a rollback must never be skipped.
    if before is not None and live != before and status.phase in _STEPPING:
        return drifted(tick, evolve(status, write_pending=False, weight_before_write=None))
    return Outcome(rewrite_action(status), status)


def confirm_write(status: TrafficShiftStatus, now: datetime) -> TrafficShiftStatus:
    """The status once the VirtualService is read back with the recorded weight."""
    if not status.write_pending:
        return status
    if status.phase not in (Phase.PROGRESSING, Phase.HOLDING) or status.step_started_at is None:
        return evolve(status, write_pending=False, weight_before_write=None)
    # The dwell counts from when the weight is known to be live, not from when it was decided:
    # a write that lands late (after a restart) must not shorten the step.
    started = max(status.step_started_at, now)
    return evolve(status, write_pending=False, weight_before_write=None, step_started_at=started)


def pause(tick: Tick, status: TrafficShiftStatus) -> Outcome:
    """spec.paused: hold the weight, touch nothing; announce it once."""
    held = evolve(status, phase=Phase.PAUSED)
    entered = () if status.phase is Phase.PAUSED else (transitions.paused(tick.spec, held),)
    return Outcome(Action.NONE, held, entered)


def resume(tick: Tick, status: TrafficShiftStatus) -> Outcome:
    """Leave a pause with the live weight as recorded; the step's dwell starts over."""
    was_drift = conditions.is_drift_paused(status)
    running = evolve(
        status,
        phase=Phase.PROGRESSING,
        step_started_at=tick.now,
        checks_passing_since=None,
        holding_since=None,
    )
    weight = status.canary_weight
    if was_drift:
        why = f"the route is back at the recorded {weight}%"
        drift = conditions.drift_cleared("WeightRestored", f"The route is back at {weight}%.")
    else:
        why = "spec.paused is false again"
        drift = conditions.in_sync(weight)
    return Outcome(Action.NONE, running, (transitions.resumed(tick.spec, running, why),), (drift,))


def drifted(tick: Tick, status: TrafficShiftStatus) -> Outcome:
    """The live weight is not the one recorded and no write of ours is pending: someone else
    changed the route. Pause for a human, or write ours back, as the policy says."""
    live = tick.observation.live_weight
    if tick.policy.drift == "reassert":
        told = transitions.drift_reasserted(tick.spec, status, live)
        # The checks so far judged traffic at the wrong weight: the step's dwell starts over.
        rewritten = evolve(status, step_started_at=tick.now, checks_passing_since=None)
        if status.phase is Phase.PAUSED:
            rewritten = evolve(rewritten, phase=Phase.PROGRESSING, holding_since=None)
        found = conditions.drift_found("WeightReasserted", told.message)
        return Outcome(Action.SET_WEIGHT, rewritten, (told,), (found,))
    told = transitions.drift_paused(tick.spec, status, live)
    entered = () if conditions.is_drift_paused(status) else (told,)
    found = conditions.drift_found("WeightChanged", told.message)
    return Outcome(Action.NONE, evolve(status, phase=Phase.PAUSED), entered, (found,))
