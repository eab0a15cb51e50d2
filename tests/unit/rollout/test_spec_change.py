"""Rule 6 mid-shift, and `shift_hash`: which edits start a shift over and which just apply."""

from __future__ import annotations

from typing import Any

import pytest

from controller.api.status import Phase
from controller.api.trafficshift import AlertEvent
from controller.rollout import Action, confirm_write, shift_hash
from tests.unit.rollout.builders import GENERATION, at, make_spec, reasons, status_at, tick

IDENTITY_EDITS: list[dict[str, Any]] = [
    {"virtual_service": "ratings"},
    {"route": "reviews-main"},
    {"host": "reviews.bookinfo.svc.cluster.local"},
    {"stable": "v2"},
    {"canary": "v2"},
    {"steps": [10, 25, 50]},
    {"steps": [5, 25, 50, 100]},
]
JUDGING_EDITS: list[dict[str, Any]] = [
    {"interval": "1m"},
    {"analysis": {"failure_limit": 5}},
    {"analysis": {"progress_deadline": "1h", "on_no_data": "fail", "window": "5m"}},
    {"paused": True},
    {"destination_rule": "reviews"},
    {"alerts": [{"provider": "slack", "events": ["rollback", "promoted"]}]},
]


@pytest.mark.parametrize("edit", IDENTITY_EDITS, ids=lambda e: next(iter(e)))
def test_hash_changes_with_shift_identity(edit: dict[str, Any]) -> None:
    assert shift_hash(make_spec(**edit)) != shift_hash(make_spec())


@pytest.mark.parametrize("edit", JUDGING_EDITS, ids=lambda e: next(iter(e)))
def test_hash_ignores_how_the_shift_is_judged(edit: dict[str, Any]) -> None:
    assert shift_hash(make_spec(**edit)) == shift_hash(make_spec())


def test_hash_is_stable_and_short() -> None:
    """The same spec hashes the same in any process: the hash is persisted in the status, so
    changing how it is computed would restart every running shift."""
    assert shift_hash(make_spec()) == shift_hash(make_spec())
    assert shift_hash(make_spec()) == "d27feb3b55946a17"


@pytest.mark.parametrize("phase", [Phase.PROGRESSING, Phase.HOLDING, Phase.PAUSED])
@pytest.mark.parametrize("edit", IDENTITY_EDITS, ids=lambda e: next(iter(e)))
def test_identity_edit_mid_shift_rolls_back_then_starts_over(
    phase: Phase, edit: dict[str, Any]
) -> None:
    spec = make_spec(**edit)
    before = status_at(2, phase=phase, holding_since=at(0))
    decision = tick(before, 60, spec=spec, generation=GENERATION + 1)
    assert (decision.action, decision.weight) == (Action.ROLLBACK, 0)
    s = decision.status
    assert (s.phase, s.current_step, s.canary_weight) == (Phase.PENDING, 0, 0)
    assert s.shift_hash == shift_hash(spec)
    (transition,) = decision.transitions
    assert (transition.reason, transition.alert_event) == ("SpecChanged", AlertEvent.ROLLBACK)
    restarted = tick(confirm_write(s, at(60)), 61, spec=spec, live=0, generation=GENERATION + 1)
    assert (restarted.action, restarted.weight) == (Action.SET_WEIGHT, spec.steps[0])
    assert (restarted.status.current_step, reasons(restarted)) == (1, ["ShiftStarted"])


def test_identity_edit_wins_over_a_pending_write() -> None:
    """The recorded write belongs to the old spec: roll back rather than finish it."""
    spec = make_spec(canary="v2")
    before = status_at(2, write_pending=True)
    decision = tick(before, 60, spec=spec, live=10)
    assert (decision.action, reasons(decision)) == (Action.ROLLBACK, ["SpecChanged"])


def test_start_waits_for_the_rollback_write() -> None:
    """After SpecChanged the first step is taken only once the route reads back at 0."""
    spec = make_spec(steps=[20, 100])
    pending = tick(status_at(2), 60, spec=spec).status
    redo = tick(pending, 70, spec=spec, live=25)
    assert (redo.action, redo.weight, redo.transitions) == (Action.ROLLBACK, 0, ())


@pytest.mark.parametrize("edit", JUDGING_EDITS[:3], ids=lambda e: next(iter(e)))
def test_judging_edit_mid_shift_just_applies(edit: dict[str, Any]) -> None:
    spec = make_spec(**edit)
    decision = tick(status_at(2), 10, spec=spec, generation=GENERATION + 1)
    assert decision.action is Action.NONE
    assert (decision.status.phase, decision.status.current_step) == (Phase.PROGRESSING, 2)
    assert decision.status.observed_generation == GENERATION + 1


def test_status_without_recorded_hash_is_adopted() -> None:
    """A status that never recorded a hash is not treated as a spec change."""
    decision = tick(status_at(2, shift_hash=""), 10)
    assert decision.action is Action.NONE
    assert decision.status.current_step == 2
