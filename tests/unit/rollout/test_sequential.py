"""The state machine under the sequential judge: evidence rolls back at once, a step waits for
evidence without a deadline while the canary gets traffic, the dwell counts from the step's
start, and the evidence is kept in the status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from controller.api.status import (
    Evidence,
    GateEvidence,
    GateStatus,
    GateVerdict,
    Phase,
    SubsetEvidence,
)
from controller.api.trafficshift import AlertEvent
from controller.rollout import Action, Observation, decide, dwell_started_at
from tests.unit.rollout.builders import GENERATION, at, make_spec, reasons, status_at, tick

SEQUENTIAL: dict[str, Any] = {"analysis": {"judge": "sequential", "min_requests": 20}}


def seq_gate(
    verdict: GateVerdict, *, waiting: bool = False, name: str = "error-rate"
) -> GateStatus:
    evidence = GateEvidence(
        hypothesis="canary 5xx share <= 1%",
        canary_events=14 if verdict is GateVerdict.FAIL else 0,
        canary_requests=61,
        step_events=14 if verdict is GateVerdict.FAIL else 0,
        step_requests=12 if waiting else 61,
        e_value=1.2e4 if verdict is GateVerdict.FAIL else 0.4,
        bound=200.0,
    )
    message = {
        GateVerdict.FAIL: "error-rate: evidence against the canary: canary 14/61 (23%)",
        GateVerdict.PASS: "error-rate: no evidence against the canary",
        GateVerdict.INCONCLUSIVE: "error-rate: waiting for evidence: 12 of 20 canary requests "
        "since step 1 began",
    }.get(verdict, "timeout")
    return GateStatus(
        name=name,
        verdict=verdict,
        value=23.0 if verdict is GateVerdict.FAIL else 0.0,
        threshold="<= 1 (% of requests)",
        query="sum by (...) (istio_requests_total{...})",
        message=message,
        critical=verdict is GateVerdict.FAIL,
        judge="sequential",
        waiting=waiting,
        evidence=evidence,
    )


def evidence(seen: datetime | None, *, step_started: datetime | None = None) -> Evidence:
    return Evidence(
        since=at(0),
        read_at=at(0),
        step_started_at=step_started,
        canary_seen_at=seen,
        canary=SubsetEvidence(read={"requests": 61.0}, shift={"requests": 61}),
    )


def test_evidence_against_the_canary_rolls_back_on_that_check_whatever_failure_limit_says():
    spec = make_spec(analysis={"judge": "sequential", "failure_limit": 5})
    decision = tick(status_at(1, spec), 10, spec=spec, checked=(seq_gate(GateVerdict.FAIL),))
    assert decision.action is Action.ROLLBACK
    assert decision.status.phase is Phase.ROLLED_BACK
    told = decision.transitions[-1]
    assert told.reason == "RolledBack"
    assert told.alert_event is AlertEvent.ROLLBACK
    assert "evidence refutes a gate at confidence 0.99" in told.message
    assert "canary 14/61 (23%)" in told.message


def test_a_step_waiting_for_evidence_stays_progressing_and_never_advances():
    spec = make_spec(**SEQUENTIAL)
    status = status_at(1, spec)
    checked = (seq_gate(GateVerdict.INCONCLUSIVE, waiting=True),)
    decision = decide(
        spec, GENERATION, status, Observation(10, checked, evidence=evidence(at(290))), at(300)
    )
    assert decision.action is Action.NONE
    assert decision.status.phase is Phase.PROGRESSING
    assert decision.status.holding_since is None
    assert decision.status.current_step == 1


def test_waiting_is_not_a_failure_even_when_no_data_counts_as_failure():
    spec = make_spec(analysis={"judge": "sequential", "on_no_data": "fail"})
    checked = (seq_gate(GateVerdict.INCONCLUSIVE, waiting=True),)
    decision = tick(status_at(1, spec), 20, spec=spec, checked=checked)
    assert decision.action is Action.NONE
    assert decision.status.failed_checks == 0


def test_waiting_with_no_canary_request_for_the_deadline_rolls_back():
    spec = make_spec(**SEQUENTIAL)
    checked = (seq_gate(GateVerdict.INCONCLUSIVE, waiting=True),)
    seen_long_ago = Observation(10, checked, evidence=evidence(at(5)))
    decision = decide(spec, GENERATION, status_at(1, spec), seen_long_ago, at(5 + 601))
    assert decision.action is Action.ROLLBACK
    assert reasons(decision) == ["ProgressDeadlineExceeded"]
    assert "canary got no request for 10m1s" in decision.transitions[-1].message


def test_waiting_with_recent_canary_traffic_has_no_deadline():
    spec = make_spec(**SEQUENTIAL)
    checked = (seq_gate(GateVerdict.INCONCLUSIVE, waiting=True),)
    recent = Observation(10, checked, evidence=evidence(at(1190)))
    decision = decide(spec, GENERATION, status_at(1, spec), recent, at(1200))
    assert decision.action is Action.NONE
    assert decision.status.phase is Phase.PROGRESSING


def test_a_holding_shift_that_gets_waiting_checks_ends_holding():
    spec = make_spec(**SEQUENTIAL)
    holding = status_at(1, spec, phase=Phase.HOLDING, holding_since=at(10))
    checked = (seq_gate(GateVerdict.INCONCLUSIVE, waiting=True),)
    decision = tick(holding, 30, spec=spec, checked=checked)
    assert decision.status.phase is Phase.PROGRESSING
    assert reasons(decision) == ["GatesPassing"]


def test_sequential_dwell_counts_from_the_step_start_not_from_the_first_passing_check():
    spec = make_spec(**SEQUENTIAL)
    status = status_at(1, spec, started=0)
    waited = tick(
        status, 20, spec=spec, checked=(seq_gate(GateVerdict.INCONCLUSIVE, waiting=True),)
    )
    advanced = tick(waited.status, 30, spec=spec, checked=(seq_gate(GateVerdict.PASS),))
    assert advanced.action is Action.SET_WEIGHT
    assert advanced.status.current_step == 2


def test_threshold_dwell_still_restarts_after_an_unsettled_check():
    spec = make_spec(analysis={"judge": "threshold"})
    from tests.unit.rollout.builders import NO_DATA, PASS, gates  # noqa: PLC0415

    held = tick(status_at(1, spec), 20, spec=spec, checked=gates(NO_DATA))
    passing = tick(held.status, 30, spec=spec, checked=gates(PASS))
    assert passing.action is Action.NONE
    assert dwell_started_at(passing.status) == at(30)


def test_the_evidence_of_a_check_is_recorded_in_the_status_and_cleared_on_a_new_start():
    spec = make_spec(**SEQUENTIAL)
    found = evidence(at(9))
    decision = decide(
        spec,
        GENERATION,
        status_at(1, spec),
        Observation(10, (seq_gate(GateVerdict.PASS),), evidence=found),
        at(10),
    )
    assert decision.status.evidence == found
    retried = decide(
        spec,
        GENERATION + 1,
        decision.status.model_copy(update={"phase": Phase.ROLLED_BACK, "canary_weight": 0}),
        Observation(0),
        at(20),
    )
    assert retried.status.current_step == 1
    assert retried.status.evidence is None


def test_dwell_is_not_counting_while_a_gate_waits():
    spec = make_spec(**SEQUENTIAL)
    status = status_at(1, spec).model_copy(
        update={"gates": [seq_gate(GateVerdict.INCONCLUSIVE, waiting=True)]}
    )
    assert dwell_started_at(status) is None
    passing = status.model_copy(update={"gates": [seq_gate(GateVerdict.PASS)]})
    assert dwell_started_at(passing) == at(0)
