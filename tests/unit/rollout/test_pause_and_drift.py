"""Rules 3 and 4: spec.paused, and a managed route changed by someone else (drift)."""

from __future__ import annotations

import pytest

from controller.api.status import Phase, TrafficShiftStatus
from controller.api.trafficshift import AlertEvent
from controller.rollout import Action, Policy
from controller.rollout.conditions import DRIFT, find_condition
from tests.unit.rollout.builders import PASS, at, gates, make_spec, reasons, status_at, tick

PAUSED_SPEC = make_spec(paused=True)
REASSERT = Policy(drift="reassert")


def drift_status(status: TrafficShiftStatus) -> str | None:
    condition = find_condition(status.conditions, DRIFT)
    return condition.status if condition else None


@pytest.mark.parametrize("phase", [Phase.PROGRESSING, Phase.HOLDING])
def test_pause_holds_the_weight_and_announces_once(phase: Phase) -> None:
    before = status_at(2, phase=phase, holding_since=at(0) if phase is Phase.HOLDING else None)
    first = tick(before, 10, spec=PAUSED_SPEC)
    assert (first.action, first.status.phase, first.status.canary_weight) == (
        Action.NONE,
        Phase.PAUSED,
        25,
    )
    assert reasons(first) == ["Paused"]
    assert "spec.paused" in first.transitions[0].message
    second = tick(first.status, 20, spec=PAUSED_SPEC)
    assert (second.action, second.status.phase, reasons(second)) == (Action.NONE, Phase.PAUSED, [])


def test_pause_does_not_roll_back_past_the_progress_deadline() -> None:
    """A paused shift is not holding: the deadline does not run while paused."""
    before = status_at(2, phase=Phase.HOLDING, holding_since=at(0))
    paused = tick(before, 10, spec=PAUSED_SPEC).status
    assert tick(paused, 5000, spec=PAUSED_SPEC).action is Action.NONE


def test_unpause_restarts_the_dwell() -> None:
    """Resuming never skips the rest of a dwell: the interval counts again from the resume."""
    before = status_at(2, checks_passing_since=at(0))
    paused = tick(before, 25, spec=PAUSED_SPEC).status
    resumed = tick(paused, 100)
    s = resumed.status
    assert (resumed.action, s.phase, reasons(resumed)) == (
        Action.NONE,
        Phase.PROGRESSING,
        ["Resumed"],
    )
    assert (s.step_started_at, s.checks_passing_since, s.holding_since) == (at(100), None, None)
    first_check = tick(s, 110, checked=gates(PASS))
    assert first_check.action is Action.NONE
    s = first_check.status
    assert tick(s, 139, checked=gates(PASS)).action is Action.NONE
    assert tick(s, 140, checked=gates(PASS)).action is Action.SET_WEIGHT


@pytest.mark.parametrize("phase", [Phase.PROGRESSING, Phase.HOLDING])
def test_drift_pauses_without_touching_the_route(phase: Phase) -> None:
    before = status_at(2, phase=phase, holding_since=at(0) if phase is Phase.HOLDING else None)
    decision = tick(before, 10, live=40, checked=gates(PASS))
    assert (decision.action, decision.status.phase) == (Action.NONE, Phase.PAUSED)
    assert decision.status.canary_weight == 25
    assert drift_status(decision.status) == "True"
    (transition,) = decision.transitions
    assert (transition.reason, transition.warning, transition.alert_event) == (
        "DriftDetected",
        True,
        AlertEvent.DRIFT,
    )
    assert "40%" in transition.message
    assert "25%" in transition.message


def test_drift_paused_shift_stays_paused_quietly_while_route_differs() -> None:
    paused = tick(status_at(2), 10, live=40).status
    again = tick(paused, 20, live=60)
    assert (again.action, again.status.phase, reasons(again)) == (Action.NONE, Phase.PAUSED, [])
    assert drift_status(again.status) == "True"


def test_drift_paused_shift_resumes_when_route_restored() -> None:
    paused = tick(status_at(2, checks_passing_since=at(0)), 10, live=40).status
    resumed = tick(paused, 50, live=25)
    s = resumed.status
    assert (resumed.action, s.phase, reasons(resumed)) == (
        Action.NONE,
        Phase.PROGRESSING,
        ["Resumed"],
    )
    assert drift_status(s) == "False"
    assert (s.step_started_at, s.checks_passing_since) == (at(50), None)


def test_drift_paused_shift_stays_paused_while_spec_paused() -> None:
    paused = tick(status_at(2), 10, live=40).status
    held = tick(paused, 50, live=25, spec=PAUSED_SPEC)
    assert (held.action, held.status.phase) == (Action.NONE, Phase.PAUSED)


def test_unpausing_onto_a_changed_route_is_drift() -> None:
    paused = tick(status_at(2), 10, spec=PAUSED_SPEC).status
    decision = tick(paused, 20, live=70)
    assert (decision.action, decision.status.phase, reasons(decision)) == (
        Action.NONE,
        Phase.PAUSED,
        ["DriftDetected"],
    )


@pytest.mark.parametrize("phase", [Phase.PROGRESSING, Phase.HOLDING, Phase.PAUSED])
def test_reassert_policy_writes_the_recorded_weight_back(phase: Phase) -> None:
    before = status_at(2, phase=phase, checks_passing_since=at(0))
    if phase is Phase.PAUSED:  # drift-paused under the pause policy, then the policy changed
        before = tick(status_at(2), 5, live=40).status
    decision = tick(before, 20, live=40, policy=REASSERT)
    assert (decision.action, decision.weight) == (Action.SET_WEIGHT, 25)
    s = decision.status
    assert s.current_step == 2
    assert s.write_pending
    assert (s.step_started_at, s.checks_passing_since) == (at(20), None)
    assert s.phase is (Phase.PROGRESSING if phase is Phase.PAUSED else phase)
    (transition,) = decision.transitions
    assert (transition.reason, transition.warning, transition.alert_event) == (
        "DriftReasserted",
        True,
        AlertEvent.DRIFT,
    )


def test_in_sync_route_reports_no_drift() -> None:
    decision = tick(status_at(2), 10, live=25)
    assert drift_status(decision.status) == "False"
