"""The outbox's pure functions: which alerts to queue, when they are due, retries, giving up."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from controller.alerts import (
    DeliveryResult,
    RetryPolicy,
    ShiftFacts,
    after_attempt,
    alerts_for,
    backoff_delay,
    due,
    gives_up,
    next_due,
)
from controller.api.status import GateVerdict, Phase, TrafficShiftStatus
from controller.api.trafficshift import AlertEvent
from controller.rollout import Transition
from tests.unit.alerts.builders import (
    T0,
    at,
    error_gate,
    promoted,
    rollback,
    rollback_alert,
    rolled_back_facts,
    routes,
    shift,
)

POLICY = RetryPolicy()
FAILED = DeliveryResult.failed("http://am:9093/***: HTTP 503")


class FixedRandom:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def test_only_routes_asking_for_the_event_get_an_alert() -> None:
    wanted = routes(
        ("oncall", ["rollback"]), ("chat", ["promoted"]), ("audit", ["rollback", "promoted"])
    )
    alerts = alerts_for([rollback()], wanted, rolled_back_facts(), T0)
    assert [a.provider for a in alerts] == ["oncall", "audit"]
    assert {a.event for a in alerts} == {AlertEvent.ROLLBACK}


def test_transitions_without_an_alert_event_queue_nothing() -> None:
    step = Transition("StepAdvanced", "Advanced to step 2/3.")
    assert (
        alerts_for([step], routes(("oncall", ["rollback", "promoted"])), rolled_back_facts(), T0)
        == []
    )


def test_a_provider_named_twice_gets_one_alert_per_transition() -> None:
    twice = routes(("oncall", ["rollback"]), ("oncall", ["rollback", "drift"]))
    assert len(alerts_for([rollback()], twice, rolled_back_facts(), T0)) == 1


def test_every_provider_of_one_transition_shares_the_dedup_key() -> None:
    alerts = alerts_for(
        [rollback()], routes(("a", ["rollback"]), ("b", ["rollback"])), rolled_back_facts(), at(7)
    )
    assert {a.dedup_key for a in alerts} == {"bookinfo/reviews-v3/3/rollback/2024-05-01T12:00:07Z"}


def test_two_rollbacks_of_one_generation_have_different_dedup_keys() -> None:
    first = rollback_alert(now=at(0))
    second = rollback_alert(now=at(600))
    assert first.dedup_key != second.dedup_key
    assert first.facts.generation == second.facts.generation


def test_new_alert_is_due_at_once_with_facts_of_the_failure() -> None:
    alert = rollback_alert()
    assert alert.attempts == 0
    assert alert.next_attempt_at == T0
    assert alert.severity == "critical"
    assert (alert.facts.step, alert.facts.weight) == (2, 50)
    assert alert.facts.gate is not None
    assert (alert.facts.gate.name, alert.facts.gate.value, alert.facts.gate.threshold) == (
        "error-rate",
        5.2,
        "<= 1",
    )


def test_gate_named_is_the_failing_one_else_the_erroring_one() -> None:
    facts = ShiftFacts.of(
        shift(),
        None,
        TrafficShiftStatus(
            phase=Phase.HOLDING,
            current_step=1,
            canary_weight=10,
            gates=[
                error_gate(GateVerdict.INCONCLUSIVE).model_copy(update={"name": "a"}),
                error_gate(GateVerdict.ERROR).model_copy(update={"name": "b"}),
            ],
        ),
    )
    holding = Transition("Holding", "Holding.", alert_event=AlertEvent.HOLDING)
    (alert,) = alerts_for([holding], routes(("oncall", ["holding"])), facts, T0)
    assert alert.facts.gate is not None
    assert alert.facts.gate.name == "b"
    assert alert.severity == "warning"


def test_promoted_alert_names_no_gate() -> None:
    (alert,) = alerts_for([promoted()], routes(("oncall", ["promoted"])), rolled_back_facts(), T0)
    assert alert.facts.gate is None


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        alerts_for(
            [rollback()],
            routes(("oncall", ["rollback"])),
            rolled_back_facts(),
            T0.replace(tzinfo=None),
        )


def test_due_returns_entries_whose_time_has_come_oldest_first() -> None:
    late = rollback_alert("a").model_copy(update={"next_attempt_at": at(30)})
    early = rollback_alert("b").model_copy(update={"next_attempt_at": at(10)})
    future = rollback_alert("c").model_copy(update={"next_attempt_at": at(90)})
    assert due([late, future, early], at(30)) == [early, late]
    assert due([late, future, early], at(9)) == []


def test_backoff_doubles_from_one_second_up_to_five_minutes_without_jitter() -> None:
    schedule = [backoff_delay(n, POLICY, FixedRandom(0.5)).total_seconds() for n in range(1, 12)]
    assert schedule == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


def test_backoff_with_seeded_rng_is_reproducible_and_stays_within_the_jitter() -> None:
    first = [backoff_delay(n, POLICY, random.Random(7)) for n in range(1, 12)]
    again = [backoff_delay(n, POLICY, random.Random(7)) for n in range(1, 12)]
    assert first == again
    for n, delay in enumerate(first, start=1):
        base = min(300.0, 2.0 ** (n - 1))
        assert base * 0.8 <= delay.total_seconds() <= min(300.0, base * 1.2)
    assert len({d.total_seconds() for d in first[:5]}) == 5


def test_failed_attempt_counts_records_the_error_and_backs_off() -> None:
    rng = random.Random(1)
    once = after_attempt(rollback_alert(), FAILED, T0, rng, POLICY)
    assert once is not None
    assert once.attempts == 1
    assert once.last_error == "http://am:9093/***: HTTP 503"
    assert at(0.8) <= once.next_attempt_at <= at(1.2)
    twice = after_attempt(once, FAILED, once.next_attempt_at, rng, POLICY)
    assert twice is not None
    assert twice.attempts == 2
    assert twice.next_attempt_at - once.next_attempt_at >= timedelta(seconds=1.6)


def test_delivered_alert_leaves_the_outbox() -> None:
    assert after_attempt(rollback_alert(), DeliveryResult.ok(), T0, random.Random(1)) is None


def test_alert_is_given_up_after_the_policy_period() -> None:
    alert = rollback_alert().model_copy(update={"attempts": 290})
    just_before = T0 + POLICY.give_up_after - timedelta(seconds=1)
    assert not gives_up(alert, FAILED, just_before, POLICY)
    assert after_attempt(alert, FAILED, just_before, random.Random(1), POLICY) is not None
    at_limit = T0 + POLICY.give_up_after
    assert gives_up(alert, FAILED, at_limit, POLICY)
    assert after_attempt(alert, FAILED, at_limit, random.Random(1), POLICY) is None


def test_payload_refused_by_the_receiver_is_given_up_at_once() -> None:
    refused = DeliveryResult.failed("HTTP 400", retryable=False)
    assert gives_up(rollback_alert(), refused, T0, POLICY)
    assert after_attempt(rollback_alert(), refused, T0, random.Random(1), POLICY) is None


def test_retry_after_from_the_receiver_is_honoured_up_to_the_max_backoff() -> None:
    asked = DeliveryResult.failed("HTTP 429", retry_after=timedelta(seconds=40))
    later = after_attempt(rollback_alert(), asked, T0, FixedRandom(0.5), POLICY)
    assert later is not None
    assert later.next_attempt_at == at(40)
    greedy = DeliveryResult.failed("HTTP 429", retry_after=timedelta(hours=3))
    capped = after_attempt(rollback_alert(), greedy, T0, FixedRandom(0.5), POLICY)
    assert capped is not None
    assert capped.next_attempt_at == at(300)


def test_a_nan_gate_value_is_kept_as_no_value_so_bodies_stay_valid_json() -> None:
    nan_gate = error_gate().model_copy(update={"value": float("nan")})
    facts = ShiftFacts.of(
        shift(), None, TrafficShiftStatus(current_step=1, canary_weight=10, gates=[nan_gate])
    )
    (alert,) = alerts_for([rollback()], routes(("oncall", ["rollback"])), facts, T0)
    assert alert.facts.gate is not None
    assert alert.facts.gate.value is None


def test_next_due_is_the_earliest_appointment_or_none() -> None:
    early = rollback_alert("a").model_copy(update={"next_attempt_at": at(10)})
    late = rollback_alert("b").model_copy(update={"next_attempt_at": at(30)})
    assert next_due([late, early]) == at(10)
    assert next_due([]) is None


def test_rollback_for_a_new_spec_reports_the_step_and_weight_it_left() -> None:
    before = TrafficShiftStatus(phase=Phase.PROGRESSING, current_step=2, canary_weight=50)
    restarted = TrafficShiftStatus(phase=Phase.PENDING, current_step=0, canary_weight=0)
    facts = ShiftFacts.of(shift(generation=4), before, restarted)
    assert (facts.step, facts.weight, facts.generation) == (2, 50, 4)
    assert facts.gates == ()
