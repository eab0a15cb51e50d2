"""Critical gates: a check in which a gate broke a critical threshold rolls back on that check,
whatever failureLimit says; every other failed check still counts towards failureLimit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from controller.api.status import GateStatus, Phase
from controller.api.trafficshift import AlertEvent
from controller.rollout import Action
from tests.unit.rollout.builders import (
    ERROR,
    FAIL,
    PASS,
    gate,
    make_spec,
    reasons,
    status_at,
    tick,
)

LIMIT_3: dict[str, Any] = {"analysis": {"failure_limit": 3}}
CRITICAL_QUERY = 'sum(rate(istio_requests_total{destination_version="v3"}[1m]))'


def critical(name: str = "error-rate") -> GateStatus:
    """A gate whose value (20) is beyond its criticalMax (5)."""
    return gate(
        FAIL,
        name=name,
        value=20.0,
        threshold="<= 1 (critical > 5)",
        query=CRITICAL_QUERY,
        message=f"{name} 20 > 1 (max), 20 > 5 (criticalMax)",
        critical=True,
    )


@dataclass(frozen=True)
class Case:
    id: str
    before: dict[str, Any]
    checked: tuple[GateStatus, ...]
    action: Action
    phase: Phase
    failed_checks: int
    transitions: list[str]


# fmt: off
CASES = [
    Case("first-critical-check-rolls-back", {}, (critical(),), Action.ROLLBACK,
         Phase.ROLLED_BACK, 1, ["RolledBack"]),
    Case("critical-beside-passing-gates", {}, (gate(PASS, name="latency-p99"), critical()),
         Action.ROLLBACK, Phase.ROLLED_BACK, 1, ["RolledBack"]),
    Case("critical-beside-an-erroring-gate", {}, (gate(ERROR, name="latency-p99"), critical()),
         Action.ROLLBACK, Phase.ROLLED_BACK, 1, ["RolledBack"]),
    Case("critical-after-a-plain-failure", {"failed_checks": 1}, (critical(),), Action.ROLLBACK,
         Phase.ROLLED_BACK, 2, ["RolledBack"]),
    Case("critical-while-holding", {"phase": Phase.HOLDING}, (critical(),), Action.ROLLBACK,
         Phase.ROLLED_BACK, 1, ["RolledBack"]),
    Case("plain-failure-still-waits-for-the-limit", {}, (gate(FAIL),), Action.NONE,
         Phase.PROGRESSING, 1, ["CheckFailed"]),
    Case("plain-failure-at-the-limit", {"failed_checks": 2}, (gate(FAIL),), Action.ROLLBACK,
         Phase.ROLLED_BACK, 3, ["RolledBack"]),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_critical_check_outcome_with_failure_limit_3(case: Case) -> None:
    spec = make_spec(**LIMIT_3)
    before = status_at(2, spec, **case.before)
    decision = tick(before, 40, spec=spec, checked=case.checked)
    s = decision.status
    assert decision.action is case.action
    assert (s.phase, s.failed_checks) == (case.phase, case.failed_checks)
    assert reasons(decision) == case.transitions
    if case.action is Action.ROLLBACK:
        assert (decision.weight, s.canary_weight, s.write_pending) == (0, 0, True)
        assert decision.transitions[0].alert_event is AlertEvent.ROLLBACK
        assert decision.transitions[0].warning


def test_critical_rollback_message_names_gate_value_threshold_query_and_skipped_limit() -> None:
    spec = make_spec(**LIMIT_3)
    checked = (gate(FAIL, name="latency-p99"), critical())
    decision = tick(status_at(2, spec), 40, spec=spec, checked=checked)
    message = decision.transitions[0].message
    for part in (
        "gate 'error-rate' broke its critical threshold",
        "value 20",
        "threshold '<= 1 (critical > 5)'",
        f"query: {CRITICAL_QUERY}",
        "without waiting for failureLimit 3",
        "1 of 3 failed checks",
        "step 2/4",
        "'v1'",
    ):
        assert part in message, f"{part!r} not in {message!r}"
    # The plain failure beside it did not cause the rollback, so it is not named as its cause.
    assert "latency-p99" not in message
    assert decision.status.message == message
    last = decision.status.history[-1]
    assert (last.reason, last.phase, last.message) == ("RolledBack", Phase.ROLLED_BACK, message)


def test_critical_gate_is_kept_in_the_status() -> None:
    """The recorded gates show which one was critical, for `kubectl describe` and alerts."""
    spec = make_spec(**LIMIT_3)
    decision = tick(status_at(2, spec), 40, spec=spec, checked=(critical(),))
    assert [(g.name, g.critical) for g in decision.status.gates] == [("error-rate", True)]
