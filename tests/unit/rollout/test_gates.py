"""Rule 2: judging a step from its checks - count failures, hold, advance, promote, roll back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from controller.api.status import GateStatus, Phase
from controller.api.trafficshift import AlertEvent
from controller.rollout import Action
from tests.unit.rollout.builders import (
    ERROR,
    FAIL,
    NO_DATA,
    PASS,
    at,
    gate,
    gates,
    make_spec,
    reasons,
    status_at,
    tick,
)

DEADLINE_S = 600


@dataclass(frozen=True)
class Case:
    id: str
    before: dict[str, Any]  # status fields at step `step`
    checked: tuple[GateStatus, ...] | None
    now: float
    action: Action
    phase: Phase
    step: int = 2
    failed_checks: int = 0
    holding_since: datetime | None = None
    passing_since: datetime | None = None
    transitions: list[str] = field(default_factory=list)
    alert: AlertEvent | None = None
    spec: dict[str, Any] = field(default_factory=dict)


HOLDING = {"phase": Phase.HOLDING, "holding_since": at(100)}

# One case per row reads as a table.
# fmt: off
CASES = [
    Case("fail-below-limit", {}, gates(FAIL), 40, Action.NONE, Phase.PROGRESSING,
         failed_checks=1, transitions=["CheckFailed"]),
    Case("fail-at-limit", {"failed_checks": 1}, gates(FAIL), 40, Action.ROLLBACK,
         Phase.ROLLED_BACK, failed_checks=2, transitions=["RolledBack"], alert=AlertEvent.ROLLBACK),
    Case("limit-1-first-fail", {}, gates(FAIL), 40, Action.ROLLBACK, Phase.ROLLED_BACK,
         failed_checks=1, transitions=["RolledBack"], alert=AlertEvent.ROLLBACK,
         spec={"analysis": {"failure_limit": 1}}),
    Case("fail-beats-error", {}, gates(ERROR, FAIL, PASS), 40, Action.NONE, Phase.PROGRESSING,
         failed_checks=1, transitions=["CheckFailed"]),
    Case("fail-while-holding-ends-holding", {**HOLDING}, gates(FAIL), 140, Action.NONE,
         Phase.PROGRESSING, failed_checks=1, transitions=["CheckFailed"]),
    Case("no-data-counts-as-fail", {"failed_checks": 1}, gates(NO_DATA), 40, Action.ROLLBACK,
         Phase.ROLLED_BACK, failed_checks=2, transitions=["RolledBack"],
         alert=AlertEvent.ROLLBACK, spec={"analysis": {"on_no_data": "fail"}}),
    Case("no-data-early-in-step-waits-quietly", {}, gates(PASS, NO_DATA), 40, Action.NONE,
         Phase.PROGRESSING, holding_since=at(40)),
    Case("no-data-holds", {}, gates(PASS, NO_DATA), 70, Action.NONE, Phase.HOLDING,
         holding_since=at(70), transitions=["Holding"], alert=AlertEvent.HOLDING),
    Case("error-holds", {}, gates(ERROR), 40, Action.NONE, Phase.HOLDING,
         holding_since=at(40), transitions=["Holding"], alert=AlertEvent.HOLDING),
    Case("error-does-not-reset-failures", {"failed_checks": 1}, gates(ERROR), 40, Action.NONE,
         Phase.HOLDING, failed_checks=1, holding_since=at(40), transitions=["Holding"],
         alert=AlertEvent.HOLDING),
    Case("stay-holding-silently", {**HOLDING}, gates(ERROR), 300, Action.NONE, Phase.HOLDING,
         holding_since=at(100)),
    Case("holding-exactly-deadline", {**HOLDING}, gates(NO_DATA), 100 + DEADLINE_S,
         Action.NONE, Phase.HOLDING, holding_since=at(100)),
    Case("holding-past-deadline", {**HOLDING}, gates(NO_DATA), 101 + DEADLINE_S,
         Action.ROLLBACK, Phase.ROLLED_BACK, transitions=["ProgressDeadlineExceeded"],
         alert=AlertEvent.ROLLBACK),
    Case("no-check-past-deadline", {**HOLDING}, None, 101 + DEADLINE_S, Action.ROLLBACK,
         Phase.ROLLED_BACK, transitions=["ProgressDeadlineExceeded"], alert=AlertEvent.ROLLBACK),
    Case("no-check-within-deadline", {**HOLDING}, None, 300, Action.NONE, Phase.HOLDING,
         holding_since=at(100)),
    Case("no-check-progressing", {"checks_passing_since": at(5), "failed_checks": 1}, None, 300,
         Action.NONE, Phase.PROGRESSING, failed_checks=1, passing_since=at(5)),
    Case("pass-starts-dwell", {}, gates(PASS, PASS), 10, Action.NONE, Phase.PROGRESSING,
         passing_since=at(10)),
    Case("pass-resets-failures", {"failed_checks": 1}, gates(PASS), 10, Action.NONE,
         Phase.PROGRESSING, passing_since=at(10)),
    Case("pass-before-interval", {"checks_passing_since": at(10)}, gates(PASS), 39,
         Action.NONE, Phase.PROGRESSING, passing_since=at(10)),
    Case("pass-at-interval", {"checks_passing_since": at(10)}, gates(PASS), 40,
         Action.SET_WEIGHT, Phase.PROGRESSING, step=3, transitions=["StepAdvanced"]),
    Case("first-pass-late-in-step", {}, gates(PASS), 500, Action.NONE, Phase.PROGRESSING,
         passing_since=at(500)),
    Case("pass-while-holding", {**HOLDING}, gates(PASS), 500, Action.NONE, Phase.PROGRESSING,
         passing_since=at(500), transitions=["GatesPassing"]),
    Case("no-gates-configured-pass", {"checks_passing_since": at(0)}, (), 30,
         Action.SET_WEIGHT, Phase.PROGRESSING, step=3, transitions=["StepAdvanced"]),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_outcome(case: Case) -> None:
    spec = make_spec(**case.spec)
    before = status_at(2, spec, **case.before)
    decision = tick(before, case.now, spec=spec, checked=case.checked)
    s = decision.status
    assert decision.action is case.action
    assert (s.phase, s.current_step, s.failed_checks) == (case.phase, case.step, case.failed_checks)
    assert s.holding_since == case.holding_since
    assert s.checks_passing_since == case.passing_since
    assert reasons(decision) == case.transitions
    assert [t.alert_event for t in decision.transitions if t.alert_event] == (
        [case.alert] if case.alert else []
    )
    assert s.write_pending is (case.action is not Action.NONE)


def test_step_advance_sets_next_weight_and_restarts_the_step_clock() -> None:
    before = status_at(2, checks_passing_since=at(10), failed_checks=0)
    decision = tick(before, 45, checked=gates(PASS))
    assert decision.weight == 50
    s = decision.status
    assert (s.canary_weight, s.step_started_at, s.checks_passing_since) == (50, at(45), None)
    assert "step 3/4" in decision.transitions[0].message


def test_last_step_promotes_to_all_canary() -> None:
    before = status_at(4, checks_passing_since=at(0))
    decision = tick(before, 30, checked=gates(PASS))
    assert (decision.action, decision.weight) == (Action.PROMOTE, 100)
    assert (decision.status.phase, decision.status.canary_weight) == (Phase.PROMOTED, 100)
    assert decision.transitions[0].alert_event is AlertEvent.PROMOTED


def test_rollback_message_names_gate_value_threshold_and_query() -> None:
    failing = gates(PASS, FAIL)
    decision = tick(status_at(2, failed_checks=1), 40, checked=failing)
    assert (decision.action, decision.weight, decision.status.canary_weight) == (
        Action.ROLLBACK,
        0,
        0,
    )
    message = decision.transitions[0].message
    bad = failing[1]
    for part in ("gate-1", "4.5", bad.threshold, bad.query, "step 2/4", "25%", "'v1'"):
        assert part in message
    assert "gate-0" not in message
    assert decision.transitions[0].warning
    assert decision.status.history[-1].phase is Phase.ROLLED_BACK


def test_deadline_message_says_how_long_and_which_gates() -> None:
    before = status_at(2, phase=Phase.HOLDING, holding_since=at(0))
    decision = tick(before, 660, checked=gates(PASS, ERROR, NO_DATA))
    message = decision.transitions[0].message
    assert "held for 11m" in message
    assert "10m" in message
    assert "gate 'gate-1' errored (timeout)" in message
    assert "gate 'gate-2' was inconclusive (no samples)" in message


def test_deadline_without_check_uses_the_last_recorded_gates() -> None:
    before = status_at(2, phase=Phase.HOLDING, holding_since=at(0), gates=list(gates(ERROR)))
    decision = tick(before, 601, checked=None)
    assert decision.action is Action.ROLLBACK
    assert "gate 'gate-0' errored" in decision.transitions[0].message


def test_check_results_replace_recorded_gates_and_set_last_check() -> None:
    before = status_at(2, gates=list(gates(FAIL, FAIL, FAIL)), last_check_at=at(1))
    checked = gates(PASS)
    s = tick(before, 12, checked=checked).status
    assert s.gates == list(checked)
    assert s.last_check_at == at(12)


def test_no_check_keeps_recorded_gates() -> None:
    before = status_at(2, gates=list(gates(PASS)), last_check_at=at(1))
    s = tick(before, 12).status
    assert (s.gates, s.last_check_at) == (before.gates, at(1))


def test_failed_check_restarts_the_dwell() -> None:
    """A pass, a fail, then passes: the step needs a whole interval after the fail."""
    s = status_at(2)
    s = tick(s, 10, checked=gates(PASS)).status
    s = tick(s, 20, checked=gates(FAIL)).status
    s = tick(s, 30, checked=gates(PASS)).status
    late = tick(s, 59, checked=gates(PASS))
    assert late.action is Action.NONE
    on_time = tick(late.status, 60, checked=gates(PASS))
    assert on_time.action is Action.SET_WEIGHT


def test_interval_change_applies_to_the_running_step() -> None:
    """A new interval (same shift identity) judges the current step without a restart."""
    spec = make_spec(interval="2m")
    before = status_at(2, spec, checks_passing_since=at(0))
    assert tick(before, 100, spec=spec, checked=gates(PASS)).action is Action.NONE
    assert tick(before, 120, spec=spec, checked=gates(PASS)).action is Action.SET_WEIGHT


def test_rollback_message_shows_the_stable_value_of_a_relative_gate() -> None:
    relative = gate(FAIL, name="latency-p99", value=480.0, stable_value=120.0, threshold="<= 2x")
    decision = tick(status_at(2, failed_checks=1), 40, checked=(relative,))
    assert "gate 'latency-p99' failed: value 480, stable 120, threshold '<= 2x'" in (
        decision.transitions[0].message
    )


def test_holding_for_data_is_normal_and_holding_on_errors_is_a_warning() -> None:
    waiting = tick(status_at(2), 70, checked=gates(PASS, NO_DATA))
    erroring = tick(status_at(2), 70, checked=gates(PASS, ERROR))
    assert [(t.reason, t.warning) for t in waiting.transitions] == [("Holding", False)]
    assert [(t.reason, t.warning) for t in erroring.transitions] == [("Holding", True)]
    # An error is never quiet, even at the very start of a step.
    early = tick(status_at(2), 5, checked=gates(ERROR))
    assert (early.status.phase, reasons(early)) == (Phase.HOLDING, ["Holding"])


def test_the_quiet_start_does_not_move_the_deadline() -> None:
    quiet = tick(status_at(2), 5, checked=gates(NO_DATA)).status
    assert quiet.phase is Phase.PROGRESSING
    held = tick(quiet, 65, checked=gates(NO_DATA)).status
    assert (held.phase, held.holding_since) == (Phase.HOLDING, at(5))
    late = tick(held, 6 + DEADLINE_S, checked=gates(NO_DATA))
    assert reasons(late) == ["ProgressDeadlineExceeded"]
