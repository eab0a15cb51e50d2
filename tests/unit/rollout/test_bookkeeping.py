"""Rules 7 and 8: observed generation, history, conditions, input validation and check_due."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from controller.api.status import MAX_HISTORY, Phase, TrafficShiftStatus
from controller.rollout import (
    Observation,
    Policy,
    check_due,
    confirm_write,
    effective_check_interval,
)
from controller.rollout.conditions import HEALTHY, PROGRESSING, find_condition
from tests.unit.rollout.builders import (
    ERROR,
    FAIL,
    GENERATION,
    PASS,
    at,
    gates,
    make_spec,
    status_at,
    tick,
)

NEW_GENERATION = GENERATION + 4

SCENARIOS: list[tuple[str, TrafficShiftStatus | None, dict[str, Any]]] = [
    ("start", None, {}),
    ("hold-no-check", status_at(2), {}),
    ("check", status_at(2), {"checked": gates(PASS)}),
    ("pause", status_at(2), {"spec": make_spec(paused=True)}),
    ("drift", status_at(2), {"live": 90}),
    ("pending-write", status_at(2, write_pending=True), {"live": 10}),
    ("promoted", status_at(4, phase=Phase.PROMOTED, canary_weight=100), {}),
    ("invalid", status_at(2, phase=Phase.INVALID, observed_generation=NEW_GENERATION), {}),
]


@pytest.mark.parametrize(
    ("status", "kwargs"), [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS]
)
def test_every_decision_records_the_generation(
    status: TrafficShiftStatus | None, kwargs: dict[str, Any]
) -> None:
    decision = tick(status, 100, generation=NEW_GENERATION, **kwargs)
    assert decision.status.observed_generation == NEW_GENERATION


def test_history_keeps_the_newest_entries_up_to_the_limit() -> None:
    policy = Policy(history_limit=3)
    s = confirm_write(tick(None, 0, policy=policy).status, at(0))
    now = 0.0
    for _ in range(6):  # each error enters Holding, each pass leaves it: a transition each
        now += 10
        s = tick(s, now, checked=gates(ERROR), policy=policy).status
        now += 10
        s = tick(s, now, checked=gates(PASS), policy=policy).status
    assert [(h.time, h.reason) for h in s.history] == [
        (at(now - 20), "GatesPassing"),
        (at(now - 10), "Holding"),
        (at(now), "GatesPassing"),
    ]


def test_history_entry_records_phase_step_weight_reason_and_message() -> None:
    decision = tick(status_at(2, checks_passing_since=at(0)), 30, checked=gates(PASS))
    entry = decision.status.history[-1]
    assert (entry.time, entry.phase, entry.step, entry.weight, entry.reason) == (
        at(30),
        Phase.PROGRESSING,
        3,
        50,
        "StepAdvanced",
    )
    assert entry.message == decision.transitions[0].message == decision.status.message


@pytest.mark.parametrize("limit", [0, MAX_HISTORY + 1])
def test_policy_rejects_history_limit_outside_the_schema(limit: int) -> None:
    with pytest.raises(ValueError, match="history_limit"):
        Policy(history_limit=limit)


@pytest.mark.parametrize("weight", [-1, 101])
def test_observation_rejects_a_weight_that_is_not_a_percent(weight: int) -> None:
    with pytest.raises(ValueError, match="live_weight"):
        Observation(live_weight=weight)


def test_condition_transition_time_moves_only_when_its_status_changes() -> None:
    s = tick(status_at(2), 10, checked=gates(PASS)).status
    healthy = find_condition(s.conditions, HEALTHY)
    assert healthy is not None
    assert (healthy.status, healthy.last_transition_time) == ("True", at(10))
    s = tick(s, 20, checked=gates(PASS, PASS)).status
    healthy = find_condition(s.conditions, HEALTHY)
    assert healthy is not None
    assert (healthy.status, healthy.last_transition_time) == ("True", at(10))
    assert "2 gates" in healthy.message
    s = tick(s, 30, checked=gates(FAIL)).status
    healthy = find_condition(s.conditions, HEALTHY)
    assert healthy is not None
    assert (healthy.status, healthy.reason, healthy.last_transition_time) == (
        "False",
        "GatesFailing",
        at(30),
    )


@pytest.mark.parametrize(
    ("checked", "expected"),
    [(gates(PASS), "True"), (gates(FAIL), "False"), (gates(PASS, ERROR), "Unknown")],
)
def test_healthy_condition_follows_the_latest_check(checked: Any, expected: str) -> None:
    healthy = find_condition(tick(status_at(2), 10, checked=checked).status.conditions, HEALTHY)
    assert healthy is not None
    assert healthy.status == expected


@pytest.mark.parametrize(
    ("before", "kwargs", "expected"),
    [
        (None, {}, ("True", "ShiftStarted")),
        (status_at(2), {"spec": make_spec(paused=True)}, ("False", "Paused")),
        (status_at(2, failed_checks=1), {"checked": gates(FAIL)}, ("False", "RolledBack")),
        (status_at(4, checks_passing_since=at(0)), {"checked": gates(PASS)}, ("False", "Promoted")),
    ],
    ids=["started", "paused", "rolled-back", "promoted"],
)
def test_progressing_condition_follows_the_last_transition(
    before: TrafficShiftStatus | None, kwargs: dict[str, Any], expected: tuple[str, str]
) -> None:
    decision = tick(before, 100, **kwargs)
    progressing = find_condition(decision.status.conditions, PROGRESSING)
    assert progressing is not None
    assert (progressing.status, progressing.reason) == expected


INTERVAL = timedelta(seconds=10)
OWN_3S: dict[str, Any] = {"analysis": {"check_interval": timedelta(seconds=3)}}
OWN_30S: dict[str, Any] = {"analysis": {"check_interval": "30s"}}
# fmt: off
DUE_CASES = [
    ("no-status", None, {}, 0, False),
    ("never-checked", status_at(2), {}, 0, True),
    ("checked-before-step-began", status_at(2, started=50, last_check_at=at(49)), {}, 51, True),
    ("checked-as-step-began", status_at(2, started=50, last_check_at=at(50)), {}, 51, True),
    ("checked-recently", status_at(2, last_check_at=at(5)), {}, 14, False),
    ("checked-interval-ago", status_at(2, last_check_at=at(5)), {}, 15, True),
    ("holding", status_at(2, phase=Phase.HOLDING, last_check_at=at(5)), {}, 15, True),
    ("write-pending", status_at(2, write_pending=True), {}, 100, False),
    ("spec-paused", status_at(2), {"paused": True}, 100, False),
    ("paused-phase", status_at(2, phase=Phase.PAUSED), {}, 100, False),
    ("pending", TrafficShiftStatus(), {}, 100, False),
    ("promoted", status_at(4, phase=Phase.PROMOTED), {}, 100, False),
    ("rolled-back", status_at(2, phase=Phase.ROLLED_BACK), {}, 100, False),
    # The shift's analysis.checkInterval wins over the controller's INTERVAL (10s).
    ("spec-interval-shorter-due", status_at(2, last_check_at=at(5)), OWN_3S, 8, True),
    ("spec-interval-shorter-not-yet", status_at(2, last_check_at=at(5)), OWN_3S, 7, False),
    ("spec-interval-longer-not-yet", status_at(2, last_check_at=at(5)), OWN_30S, 15, False),
    ("spec-interval-longer-due", status_at(2, last_check_at=at(5)), OWN_30S, 35, True),
    ("spec-interval-new-step-due", status_at(2, started=50, last_check_at=at(50)), OWN_30S, 51,
     True),
]
# fmt: on


@pytest.mark.parametrize(
    ("status", "spec_edit", "now", "due"), [c[1:] for c in DUE_CASES], ids=[c[0] for c in DUE_CASES]
)
def test_check_due(
    status: TrafficShiftStatus | None, spec_edit: dict[str, Any], now: float, due: bool
) -> None:
    assert check_due(make_spec(**spec_edit), status, at(now), INTERVAL) is due


def test_decide_records_when_gates_were_checked() -> None:
    """The reconcile loop relies on decide to record last_check_at for check_due."""
    s = tick(status_at(2), 10, checked=gates(PASS)).status
    assert not check_due(make_spec(), s, at(19), INTERVAL)
    assert check_due(make_spec(), s, at(20), INTERVAL)


@pytest.mark.parametrize(
    ("own", "expected"),
    [(None, INTERVAL), ("3s", timedelta(seconds=3)), ("1m", timedelta(minutes=1))],
)
def test_effective_check_interval_prefers_the_spec(own: str | None, expected: timedelta) -> None:
    spec = make_spec(analysis={"check_interval": own})
    assert effective_check_interval(spec, INTERVAL) == expected
