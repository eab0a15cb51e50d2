"""Rule 5: a recorded write that may not have reached the VirtualService is finished, never
decided again - the heart of "no step skipped or taken twice" across a SIGKILL."""

from __future__ import annotations

import pytest

from controller.api.status import Phase
from controller.rollout import Action, confirm_write
from tests.unit.rollout.builders import FAIL, PASS, at, gates, status_at, tick

REDO_CASES = [
    # (phase, step, recorded weight, live weight, redo action)
    (Phase.PROGRESSING, 1, 10, 0, Action.SET_WEIGHT),
    (Phase.PROGRESSING, 3, 50, 25, Action.SET_WEIGHT),
    (Phase.HOLDING, 2, 25, 40, Action.SET_WEIGHT),
    (Phase.PROMOTED, 4, 100, 100 - 1, Action.PROMOTE),
    (Phase.ROLLED_BACK, 3, 0, 50, Action.ROLLBACK),
    (Phase.PENDING, 0, 0, 50, Action.ROLLBACK),
]


@pytest.mark.parametrize(("phase", "step", "weight", "live", "action"), REDO_CASES)
def test_unfinished_write_is_redone_without_a_new_transition(
    phase: Phase, step: int, weight: int, live: int, action: Action
) -> None:
    before = status_at(step, phase=phase, canary_weight=weight, write_pending=True)
    decision = tick(before, 500, live=live, checked=gates(PASS))
    assert (decision.action, decision.weight) == (action, weight)
    assert decision.transitions == ()
    s = decision.status
    assert (s.phase, s.current_step, s.canary_weight, s.write_pending) == (
        phase,
        step,
        weight,
        True,
    )
    assert s.history == before.history
    assert s.step_started_at == before.step_started_at


@pytest.mark.parametrize(
    ("phase", "step", "weight"),
    [(Phase.PROGRESSING, 2, 25), (Phase.PROMOTED, 4, 100), (Phase.ROLLED_BACK, 2, 0)],
)
def test_write_found_on_the_route_is_confirmed(phase: Phase, step: int, weight: int) -> None:
    before = status_at(step, phase=phase, canary_weight=weight, write_pending=True)
    decision = tick(before, 500, live=weight)
    assert (decision.action, decision.transitions) == (Action.NONE, ())
    assert decision.status.write_pending is False
    assert (decision.status.phase, decision.status.current_step) == (phase, step)


def test_pending_write_ignores_this_ticks_checks() -> None:
    """Checks made before the recorded weight is live judge the wrong traffic."""
    before = status_at(2, write_pending=True, failed_checks=1)
    decision = tick(before, 500, live=10, checked=gates(FAIL))
    assert decision.status.failed_checks == 1
    assert decision.action is Action.SET_WEIGHT


def test_confirm_write_starts_the_dwell_when_the_weight_is_live() -> None:
    """A write that lands late (after a restart) must not shorten the step."""
    before = status_at(2, started=0, write_pending=True)
    confirmed = confirm_write(before, at(90))
    assert (confirmed.write_pending, confirmed.step_started_at) == (False, at(90))


def test_confirm_write_never_moves_the_step_start_back() -> None:
    before = status_at(2, started=100, write_pending=True)
    assert confirm_write(before, at(50)).step_started_at == at(100)


def test_confirm_write_without_pending_write_changes_nothing() -> None:
    before = status_at(2)
    assert confirm_write(before, at(90)) is before


def test_confirmed_rollback_keeps_its_record() -> None:
    before = status_at(2, phase=Phase.ROLLED_BACK, canary_weight=0, write_pending=True)
    confirmed = confirm_write(before, at(90))
    assert confirmed.write_pending is False
    assert confirmed.step_started_at == before.step_started_at


def test_redo_after_confirmed_tick_does_not_step_twice() -> None:
    """Decide a step, lose the write, restart: the same step is written again, not the next."""
    before = status_at(2, checks_passing_since=at(0))
    stepped = tick(before, 40, checked=gates(PASS))
    assert (stepped.action, stepped.weight) == (Action.SET_WEIGHT, 50)
    redo = tick(stepped.status, 400, live=25, checked=gates(PASS))
    assert (redo.action, redo.weight, redo.status.current_step) == (Action.SET_WEIGHT, 50, 3)
    done = confirm_write(redo.status, at(400))
    assert (done.current_step, done.step_started_at) == (3, at(400))


@pytest.mark.parametrize(("before", "live"), [(10, 10), (None, 40)], ids=["unlanded", "unknown"])
def test_live_weight_at_the_old_weight_means_the_write_is_redone(
    before: int | None, live: int
) -> None:
    status = status_at(2, canary_weight=25, write_pending=True, weight_before_write=before)
    decision = tick(status, 500, live=live)
    assert (decision.action, decision.weight, decision.transitions) == (Action.SET_WEIGHT, 25, ())


def test_live_weight_that_is_neither_before_nor_after_the_write_is_drift() -> None:
    """Someone set 70% while our 25% write was pending: pause, never overwrite them."""
    status = status_at(2, canary_weight=25, write_pending=True, weight_before_write=10)
    decision = tick(status, 500, live=70)
    assert decision.action is Action.NONE
    assert decision.status.phase is Phase.PAUSED
    assert decision.status.write_pending is False
    assert [t.reason for t in decision.transitions] == ["DriftDetected"]


def test_a_decided_write_records_the_weight_it_starts_from() -> None:
    status = status_at(2, canary_weight=25, write_pending=True, weight_before_write=10)
    redo = tick(status, 500, live=10)
    assert redo.status.weight_before_write == 10
    assert confirm_write(redo.status, at(600)).weight_before_write is None
