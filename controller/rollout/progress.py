"""Judging a step: count failed checks, hold on unsettled ones, advance after a passing dwell.

A step advances only when a check passes and the whole interval since both the step's start
and the start of the current run of passing checks has gone by, so any failed or unsettled check
restarts the clock, and one call never moves more than one step. A shift rolls back after
``failureLimit`` failed checks in a row, or on the first check in which a gate broke a critical
threshold.

Gates of the sequential judge accumulate evidence over the shift, so their dwell is the step's
interval from its start, whatever the checks in between said; a sequential gate that fails has
refuted its hypothesis and is critical (rolls back at once). A step whose sequential gates are
still waiting for ``minRequests`` canary requests (or, at the last step, for evidence that
bounds the canary's rate: ``analysis.sequential``) stays Progressing, with no deadline while
the canary gets traffic; the deadline rolls it back when the canary got no request for
``progressDeadline``.

A step's start is quiet: a check that cannot judge for lack of data within one analysis window
of the step's start (the canary cannot have had a window of traffic yet) keeps the shift
Progressing with no event, though the deadline counts from it. Holding that is only waiting for
data is a Normal event; holding on a query error is a Warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from controller.api.status import GateStatus, GateVerdict, Phase, TrafficShiftStatus
from controller.rollout import conditions, transitions
from controller.rollout.decision import Action, Transition
from controller.rollout.tick import Outcome, Tick, evolve, rolled_back, stay
from controller.rollout.verdicts import (
    CheckResult,
    critical_gates,
    describe_failure,
    describe_unsettled,
    failing_gates,
    judge_check,
    unsettled_gates,
    waiting_gates,
)


def progress(tick: Tick, status: TrafficShiftStatus) -> Outcome:
    """One tick of a Progressing or Holding shift whose live weight is the recorded one."""
    outcome = _judge(tick, status)
    if outcome.action is not Action.NONE:
        return outcome
    in_sync = conditions.in_sync(outcome.status.canary_weight)
    return Outcome(outcome.action, outcome.status, outcome.transitions, (in_sync,))


def _judge(tick: Tick, status: TrafficShiftStatus) -> Outcome:
    gates = tick.observation.gates
    if gates is None:
        held_for = _overdue(tick, status) if status.phase is Phase.HOLDING else None
        if held_for is not None:
            return _roll_back_for_deadline(tick, status, held_for)
        return stay(status)
    evidence = tick.observation.evidence or status.evidence
    checked = evolve(status, gates=list(gates), last_check_at=tick.now, evidence=evidence)
    result = judge_check(gates, tick.spec.analysis.on_no_data)
    if result is CheckResult.FAIL:
        return _failed(tick, checked, gates)
    if result is CheckResult.HOLD:
        return _unsettled(tick, checked)
    if result is CheckResult.WAIT:
        return _waiting(tick, checked)
    return _passed(tick, checked)


def _failed(tick: Tick, status: TrafficShiftStatus, gates: Sequence[GateStatus]) -> Outcome:
    counted = evolve(status, failed_checks=status.failed_checks + 1, checks_passing_since=None)
    critical = critical_gates(gates)
    if critical:
        # Only the gates that broke a critical bound explain a rollback that skipped the limit.
        described = [describe_failure(gate) for gate in critical]
        if all(gate.judge == "sequential" for gate in critical):
            told = transitions.rolled_back_on_evidence(tick.spec, counted, described)
        else:
            told = transitions.rolled_back_on_critical(tick.spec, counted, described)
        return Outcome(Action.ROLLBACK, rolled_back(counted), (told,))
    failing = failing_gates(gates, tick.spec.analysis.on_no_data)
    failures = [describe_failure(gate) for gate in failing]
    if counted.failed_checks >= tick.spec.analysis.failure_limit:
        told = transitions.rolled_back_on_gates(tick.spec, counted, failures)
        return Outcome(Action.ROLLBACK, rolled_back(counted), (told,))
    holding = evolve(counted, phase=Phase.PROGRESSING, holding_since=None)
    return Outcome(Action.NONE, holding, (transitions.check_failed(tick.spec, holding, failures),))


def _unsettled(tick: Tick, status: TrafficShiftStatus) -> Outcome:
    errored = any(gate.verdict is GateVerdict.ERROR for gate in unsettled_gates(status.gates))
    if status.phase is not Phase.HOLDING and not errored and _young(tick, status):
        # The canary cannot have had a window of traffic yet: waiting for data, quietly. The
        # deadline counts from this check all the same.
        waiting = evolve(
            status,
            phase=Phase.PROGRESSING,
            holding_since=status.holding_since or tick.now,
            checks_passing_since=None,
        )
        return Outcome(Action.NONE, waiting)
    held = evolve(
        status,
        phase=Phase.HOLDING,
        holding_since=status.holding_since or tick.now,
        checks_passing_since=None,
    )
    if status.phase is Phase.HOLDING:
        held_for = _overdue(tick, held)
        if held_for is not None:
            return _roll_back_for_deadline(tick, held, held_for)
        return stay(held)
    unsettled = [describe_unsettled(gate) for gate in unsettled_gates(held.gates)]
    told = transitions.holding_started(tick.spec, held, unsettled, warning=errored)
    return Outcome(Action.NONE, held, (told,))


def _young(tick: Tick, status: TrafficShiftStatus) -> bool:
    """Whether the step began less than one analysis window ago: its window still reaches back
    before the canary had this weight, so "too few requests" says nothing yet."""
    started = status.step_started_at
    return started is not None and tick.now - started < tick.spec.analysis.window


def _waiting(tick: Tick, status: TrafficShiftStatus) -> Outcome:
    """Nothing refuted, too few canary requests since the step began: gather evidence."""
    waiting = evolve(status, phase=Phase.PROGRESSING, holding_since=None, checks_passing_since=None)
    quiet = _quiet_for(tick, waiting)
    if quiet is not None:
        said = [gate.message for gate in waiting_gates(waiting.gates)]
        told = transitions.no_canary_traffic(tick.spec, waiting, quiet, said)
        return Outcome(Action.ROLLBACK, rolled_back(waiting), (told,))
    if status.phase is Phase.HOLDING:
        return Outcome(Action.NONE, waiting, (transitions.holding_ended(tick.spec, waiting),))
    return Outcome(Action.NONE, waiting)


def _quiet_for(tick: Tick, status: TrafficShiftStatus) -> timedelta | None:
    """How long the canary has had no request in this step, when longer than the deadline."""
    marks = [status.step_started_at]
    if status.evidence is not None:
        marks.append(status.evidence.canary_seen_at)
    last = max((m for m in marks if m is not None), default=None)
    if last is None:
        return None
    quiet = tick.now - last
    return quiet if quiet > tick.spec.analysis.progress_deadline else None


def _passed(tick: Tick, status: TrafficShiftStatus) -> Outcome:
    passing = evolve(
        status,
        phase=Phase.PROGRESSING,
        failed_checks=0,
        holding_since=None,
        checks_passing_since=status.checks_passing_since or tick.now,
    )
    told: tuple[Transition, ...] = ()
    if status.phase is Phase.HOLDING:
        told = (transitions.holding_ended(tick.spec, passing),)
    if not _dwell_complete(tick, passing):
        return Outcome(Action.NONE, passing, told)
    return _advance(tick, passing, told)


def dwell_started_at(status: TrafficShiftStatus) -> datetime | None:
    """When the current step's dwell began counting; None while it is not counting (a check
    failed, could not judge, or waits for evidence). The one rule for the state machine and
    every view that says when the next step comes."""
    if status.step_started_at is None or any(gate.waiting for gate in status.gates):
        return None
    if _all_sequential(status.gates):  # cumulative evidence: the whole step counts
        return status.step_started_at
    if status.checks_passing_since is None:  # evidence that is not cumulative must be recent
        return None
    return max(status.step_started_at, status.checks_passing_since)


def _dwell_complete(tick: Tick, status: TrafficShiftStatus) -> bool:
    start = dwell_started_at(status)
    return tick.now - (start or tick.now) >= tick.spec.interval


def _all_sequential(gates: Sequence[GateStatus]) -> bool:
    return bool(gates) and all(gate.judge == "sequential" for gate in gates)


def _advance(tick: Tick, status: TrafficShiftStatus, told: tuple[Transition, ...]) -> Outcome:
    steps = tick.spec.steps
    taken = status.current_step
    if taken < len(steps):
        stepped = evolve(
            status,
            current_step=taken + 1,
            canary_weight=steps[taken],
            step_started_at=tick.now,
            checks_passing_since=None,
        )
        return Outcome(
            Action.SET_WEIGHT, stepped, (*told, transitions.step_advanced(tick.spec, stepped))
        )
    promoted = evolve(status, phase=Phase.PROMOTED, canary_weight=100, checks_passing_since=None)
    return Outcome(Action.PROMOTE, promoted, (*told, transitions.promoted(tick.spec)))


def _overdue(tick: Tick, status: TrafficShiftStatus) -> timedelta | None:
    """How long the shift has been holding, when that is longer than the progress deadline."""
    if status.holding_since is None:
        return None
    held_for = tick.now - status.holding_since
    return held_for if held_for > tick.spec.analysis.progress_deadline else None


def _roll_back_for_deadline(tick: Tick, status: TrafficShiftStatus, held_for: timedelta) -> Outcome:
    unsettled = [describe_unsettled(gate) for gate in unsettled_gates(status.gates)]
    told = transitions.deadline_exceeded(tick.spec, status, held_for, unsettled)
    return Outcome(Action.ROLLBACK, rolled_back(status), (told,))
