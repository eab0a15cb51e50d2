"""Operator intents in the state machine: promote, promote-full, abort, retry; each once."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.api.status import IntentAction, Phase, TrafficShiftStatus
from controller.api.trafficshift import AlertEvent
from controller.rollout import Action, Intent, parse_intent
from tests.unit.rollout.builders import (
    FAIL,
    PASS,
    at,
    gates,
    make_spec,
    reasons,
    status_at,
    tick,
)

ABORT = Intent("id-abort", IntentAction.ABORT, "alice@laptop")
FULL = Intent("id-full", IntentAction.PROMOTE_FULL, "bob")
PROMOTE = Intent("id-promote", IntentAction.PROMOTE, "carol")
RETRY = Intent("id-retry", IntentAction.RETRY, "dave")


def rolled_back() -> TrafficShiftStatus:
    return status_at(2, phase=Phase.ROLLED_BACK, canary_weight=0)


@pytest.mark.parametrize(
    ("intent", "before", "action", "phase", "weight", "reason"),
    [
        (ABORT, status_at(2), Action.ROLLBACK, Phase.ROLLED_BACK, 0, "Aborted"),
        (ABORT, status_at(2, phase=Phase.PAUSED), Action.ROLLBACK, Phase.ROLLED_BACK, 0,
         "Aborted"),
        (ABORT, status_at(1, phase=Phase.HOLDING), Action.ROLLBACK, Phase.ROLLED_BACK, 0,
         "Aborted"),
        (FULL, status_at(1), Action.PROMOTE, Phase.PROMOTED, 100, "PromotedByOperator"),
        (FULL, status_at(3, phase=Phase.PAUSED), Action.PROMOTE, Phase.PROMOTED, 100,
         "PromotedByOperator"),
        (PROMOTE, status_at(2), Action.NONE, Phase.PROGRESSING, 25, "PromoteRequested"),
        (RETRY, rolled_back(), Action.SET_WEIGHT, Phase.PROGRESSING, 10, "ShiftStarted"),
    ],
)  # fmt: skip
def test_an_honoured_intent_acts_and_is_recorded_as_applied(
    intent: Intent,
    before: TrafficShiftStatus,
    action: Action,
    phase: Phase,
    weight: int,
    reason: str,
) -> None:
    decision = tick(before, 10, intent=intent)
    s = decision.status
    assert (decision.action, s.phase, decision.weight, reasons(decision)[-1]) == (
        action,
        phase,
        weight,
        reason,
    )
    assert s.last_intent is not None
    assert (s.last_intent.id, s.last_intent.outcome, s.last_intent.by) == (
        intent.id,
        "Applied",
        intent.by,
    )
    assert intent.by in decision.transitions[0].message
    assert s.history[-1].reason == reason


@pytest.mark.parametrize(
    ("intent", "before", "why"),
    [
        (RETRY, status_at(2), "only a RolledBack shift can be retried"),
        (RETRY, status_at(4, phase=Phase.PROMOTED), "only a RolledBack shift"),
        (PROMOTE, rolled_back(), "already RolledBack"),
        (FULL, rolled_back(), "already RolledBack"),
        (ABORT, status_at(4, phase=Phase.PROMOTED), "already Promoted"),
        (PROMOTE, status_at(2, phase=Phase.PAUSED), "resume it first"),
    ],
)
def test_an_intent_that_cannot_be_honoured_is_refused_with_why(
    intent: Intent, before: TrafficShiftStatus, why: str
) -> None:
    decision = tick(before, 10, intent=intent)
    assert decision.action is Action.NONE
    assert decision.status.phase is before.phase
    assert decision.status.canary_weight == before.canary_weight
    assert reasons(decision) == ["IntentRefused"]
    assert decision.status.last_intent is not None
    assert decision.status.last_intent.outcome == "Refused"
    assert why in decision.status.last_intent.message


def test_abort_alerts_as_a_rollback() -> None:
    decision = tick(status_at(2), 10, intent=ABORT)
    assert decision.transitions[0].alert_event is AlertEvent.ROLLBACK
    assert decision.transitions[0].warning
    assert "aborted by alice@laptop" in decision.transitions[0].message


def test_promote_advances_at_the_next_passing_check_not_before_the_dwell() -> None:
    """Promote skips the dwell: the next passing check advances, though 30s have not passed."""
    requested = tick(status_at(2, started=0), 5, intent=PROMOTE)
    advanced = tick(requested.status, 6, checked=gates(PASS), intent=PROMOTE)
    assert (advanced.action, advanced.status.current_step) == (Action.SET_WEIGHT, 3)
    assert tick(status_at(2, started=0), 6, checked=gates(PASS)).action is Action.NONE


def test_promote_still_needs_the_gates_a_failing_check_does_not_advance() -> None:
    requested = tick(status_at(2, started=0), 5, intent=PROMOTE)
    failed = tick(requested.status, 6, checked=gates(FAIL), intent=PROMOTE)
    assert (failed.action, failed.status.current_step) == (Action.NONE, 2)
    again = tick(failed.status, 7, checked=gates(PASS), intent=PROMOTE)
    assert again.action is Action.NONE  # the dwell starts over after a failure


def test_a_handled_intent_is_not_carried_out_again() -> None:
    aborted = tick(status_at(2), 10, intent=ABORT).status
    confirmed = tick(aborted, 11, intent=RETRY).status  # finishes the rollback write first
    assert (confirmed.phase, confirmed.write_pending) == (Phase.ROLLED_BACK, False)
    retried = tick(confirmed, 20, intent=RETRY)
    assert retried.status.phase is Phase.PROGRESSING
    again = tick(retried.status, 30, intent=RETRY)
    assert reasons(again) == []
    assert again.status.current_step == 1


def test_a_pending_write_is_finished_before_the_intent() -> None:
    pending = status_at(2, write_pending=True, weight_before_write=10)
    first = tick(pending, 10, live=10, intent=ABORT)
    assert first.action is Action.SET_WEIGHT
    assert first.status.last_intent is None


def test_retry_of_a_paused_spec_waits_before_step_one() -> None:
    decision = tick(rolled_back(), 10, spec=make_spec(paused=True), intent=RETRY)
    assert (decision.action, decision.status.phase) == (Action.NONE, Phase.PAUSED)
    assert reasons(decision) == ["Retried", "Paused"]


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ({}, None),
        ({"weightgate.dev/intent": "abort"}, None),
        ({"weightgate.dev/intent": "explode", "weightgate.dev/intent-id": "x"}, None),
        (
            {
                "weightgate.dev/intent": "promote-full",
                "weightgate.dev/intent-id": "x",
                "weightgate.dev/intent-by": "eve",
            },
            Intent("x", IntentAction.PROMOTE_FULL, "eve"),
        ),
    ],
)
def test_parse_intent_reads_only_complete_known_intents(
    annotations: dict[str, str], expected: Intent | None
) -> None:
    assert parse_intent(annotations) == expected


_INTENT_REASONS = {"Aborted", "PromotedByOperator", "PromoteRequested", "Retried", "IntentRefused"}


@settings(max_examples=60, deadline=None)
@given(
    action=st.sampled_from(list(IntentAction)),
    start=st.sampled_from([Phase.PROGRESSING, Phase.HOLDING, Phase.PAUSED, Phase.ROLLED_BACK]),
    lost=st.lists(st.booleans(), min_size=1, max_size=8),
)
def test_an_intent_takes_effect_exactly_once_across_redone_ticks(
    action: IntentAction, start: Phase, lost: list[bool]
) -> None:
    """Ticks whose status write is lost are redone; the persisted history holds one entry."""
    intent = Intent("the-one", action, "ops")
    status = status_at(2, phase=start, canary_weight=0 if start is Phase.ROLLED_BACK else 25)
    announced = 0
    for i, write_lost in enumerate([*lost, False, False, False]):
        decision = tick(status, 10 + i, intent=intent, live=_live(status))
        if write_lost:
            continue
        announced += sum(1 for r in reasons(decision) if r in _INTENT_REASONS)
        status = decision.status
        if decision.status.write_pending:  # the route write lands; confirm as the loop does
            status = tick(status, 10 + i, intent=intent, live=decision.weight).status
    assert announced == 1
    assert status.last_intent is not None
    assert status.last_intent.id == "the-one"


def _live(status: TrafficShiftStatus) -> int:
    return status.canary_weight if not status.write_pending else (status.weight_before_write or 0)


def test_an_intent_survives_the_step_it_waited_on() -> None:
    """A promote-full decided, recorded, then the route confirmed: phase Promoted stays."""
    full = tick(status_at(2), 10, intent=FULL)
    confirmed = tick(full.status, 11, live=100, intent=FULL)
    assert confirmed.status.phase is Phase.PROMOTED
    assert not confirmed.status.write_pending
    assert confirmed.status.last_intent is not None
    assert confirmed.status.step_started_at == at(0)
