"""status.rollbackCause says why the route went back to stable, without parsing a message:
gate, critical, deadline, operator, deleted (and invalid, set by the reconcile loop); a retry or
a new start clears it."""

from __future__ import annotations

from controller.api.status import GateStatus, IntentAction, Phase, RollbackCause
from controller.rollout import Action, Intent
from controller.rollout.decision import Observation
from controller.rollout.machine import decide
from tests.unit.rollout.builders import (
    ERROR,
    FAIL,
    GENERATION,
    at,
    gate,
    gates,
    make_spec,
    status_at,
    tick,
)

ABORT = Intent("id-abort", IntentAction.ABORT, "alice")
RETRY = Intent("id-retry", IntentAction.RETRY, "alice")


def critical() -> GateStatus:
    return gate(FAIL, name="error-rate", value=20.0, critical=True)


def test_each_rollback_records_its_cause() -> None:
    failing = tick(status_at(2, failed_checks=1), 10, checked=gates(FAIL))
    assert (failing.action, failing.status.rollback_cause) == (Action.ROLLBACK, RollbackCause.GATE)
    assert tick(status_at(2), 10, checked=(critical(),)).status.rollback_cause is (
        RollbackCause.CRITICAL
    )
    held = status_at(2, phase=Phase.HOLDING, holding_since=at(0))
    assert tick(held, 660, checked=gates(ERROR)).status.rollback_cause is RollbackCause.DEADLINE
    assert tick(status_at(2), 10, intent=ABORT).status.rollback_cause is RollbackCause.OPERATOR
    deleted = decide(
        make_spec(),
        GENERATION,
        status_at(2),
        Observation(live_weight=25, deleting=True),
        at(10),
    )
    assert (deleted.action, deleted.status.rollback_cause) == (
        Action.ROLLBACK,
        RollbackCause.DELETED,
    )


def test_the_cause_stays_while_rolled_back_and_a_retry_clears_it() -> None:
    rolled = tick(status_at(2), 10, intent=ABORT).status
    later = tick(rolled, 20)
    assert later.status.rollback_cause is RollbackCause.OPERATOR
    retried = tick(later.status, 30, intent=RETRY)
    assert retried.status.phase is Phase.PROGRESSING
    assert retried.status.rollback_cause is None
    assert status_at(2).rollback_cause is None
