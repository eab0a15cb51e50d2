"""Rule 1 (a new shift takes its first step at once) and the final phases (rule 6): when a
finished shift stays finished and when it starts over."""

from __future__ import annotations

import pytest

from controller.api.status import Phase, TrafficShiftStatus
from controller.rollout import Action, shift_hash
from tests.unit.rollout.builders import (
    GENERATION,
    at,
    make_spec,
    reasons,
    status_at,
    tick,
)


@pytest.mark.parametrize(
    "status",
    [None, TrafficShiftStatus(), TrafficShiftStatus(phase=Phase.PENDING, canary_weight=0)],
    ids=["no-status", "empty-status", "pending"],
)
def test_new_shift_takes_first_step_at_once(status: TrafficShiftStatus | None) -> None:
    decision = tick(status, now=5)
    assert decision.action is Action.SET_WEIGHT
    assert decision.weight == 10
    s = decision.status
    assert (s.phase, s.current_step, s.canary_weight) == (Phase.PROGRESSING, 1, 10)
    assert s.step_started_at == at(5)
    assert s.write_pending is True
    assert s.shift_hash == shift_hash(make_spec())
    assert s.observed_generation == GENERATION
    assert reasons(decision) == ["ShiftStarted"]
    assert [(h.reason, h.step, h.weight, h.phase) for h in s.history] == [
        ("ShiftStarted", 1, 10, Phase.PROGRESSING)
    ]
    assert "step 1/4" in s.message
    assert {c.type for c in s.conditions} == {"Progressing", "Healthy", "Drift"}


def test_new_shift_created_paused_waits_before_first_step() -> None:
    """A shift created with spec.paused touches nothing until it is unpaused."""
    paused = tick(None, now=0, spec=make_spec(paused=True))
    assert paused.action is Action.NONE
    assert (paused.status.phase, paused.status.current_step) == (Phase.PAUSED, 0)
    assert reasons(paused) == ["Paused"]
    assert "take step 1 (10% to canary 'v3')" in paused.transitions[0].message
    again = tick(paused.status, now=10, spec=make_spec(paused=True))
    assert again.action is Action.NONE
    assert reasons(again) == []
    started = tick(again.status, now=20, live=0)
    assert started.action is Action.SET_WEIGHT
    assert (started.status.current_step, started.weight) == (1, 10)
    assert started.status.step_started_at == at(20)


FINAL_CASES = [
    # (phase, weight, spec overrides, generation, starts over?)
    (Phase.PROMOTED, 100, {}, GENERATION, False),
    (Phase.PROMOTED, 100, {"interval": "5m"}, GENERATION + 1, False),
    (Phase.PROMOTED, 100, {"canary": "v4"}, GENERATION + 1, True),
    (Phase.PROMOTED, 100, {"steps": [20, 100]}, GENERATION + 1, True),
    (Phase.ROLLED_BACK, 0, {}, GENERATION, False),
    (Phase.ROLLED_BACK, 0, {"interval": "5m"}, GENERATION + 1, True),
    (Phase.INVALID, 0, {}, GENERATION, False),
    (Phase.INVALID, 0, {"interval": "5m"}, GENERATION + 1, True),
]


@pytest.mark.parametrize(("phase", "weight", "changes", "generation", "restarts"), FINAL_CASES)
def test_final_phase_stays_or_starts_over(
    phase: Phase, weight: int, changes: dict[str, object], generation: int, restarts: bool
) -> None:
    """Promoted restarts only for a new shift identity; RolledBack/Invalid for any spec edit."""
    before = status_at(4, phase=phase, canary_weight=weight)
    spec = make_spec(**changes)
    decision = tick(before, now=100, spec=spec, generation=generation)
    assert decision.status.observed_generation == generation
    if restarts:
        assert decision.action is Action.SET_WEIGHT
        assert decision.weight == spec.steps[0]
        assert (decision.status.phase, decision.status.current_step) == (Phase.PROGRESSING, 1)
        assert decision.status.shift_hash == shift_hash(spec)
        assert reasons(decision) == ["ShiftStarted"]
        assert phase.value in decision.transitions[0].message
    else:
        assert decision.action is Action.NONE
        assert decision.status.phase is phase
        assert decision.status.canary_weight == weight
        assert reasons(decision) == []


def test_restart_clears_the_previous_shifts_counters() -> None:
    before = status_at(
        2,
        phase=Phase.ROLLED_BACK,
        canary_weight=0,
        failed_checks=2,
        last_check_at=at(50),
        checks_passing_since=at(10),
    )
    s = tick(before, now=100, generation=GENERATION + 1).status
    assert (s.failed_checks, s.last_check_at, s.checks_passing_since) == (0, None, None)
    assert s.gates == []


def test_promoted_shift_ignores_gates_and_live_weight() -> None:
    """A finished shift is final: neither checks nor a changed route move it."""
    before = status_at(4, phase=Phase.PROMOTED, canary_weight=100)
    decision = tick(before, now=100, live=40)
    assert decision.action is Action.NONE
    assert decision.status.phase is Phase.PROMOTED
