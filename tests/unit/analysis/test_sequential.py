"""The sequential judge: verdicts, waiting, latency edges, relative gates, alpha split, messages."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controller.analysis.evidence import log_e_value, log_e_value_below, upper_bound
from controller.analysis.sequential import (
    PROMOTION_ODDS,
    SequentialCheck,
    judge_sequential,
    promotion_limit,
)
from controller.api.gates import Gate
from controller.api.status import Evidence, GateStatus, GateVerdict, SubsetEvidence

STEP_START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NOW = STEP_START + timedelta(seconds=40)
PASS, FAIL, INCONCLUSIVE = GateVerdict.PASS, GateVerdict.FAIL, GateVerdict.INCONCLUSIVE

ERROR_RATE = Gate(name="error-rate", max=1)
LATENCY = Gate(name="latency-p99", max=500)
ERROR_RATIO = Gate(name="error-rate", max_ratio_to_stable=1.5)
LATENCY_RATIO = Gate(name="latency-p99", max_ratio_to_stable=1.2)
CHECKOUT = Gate(
    name="checkout-failures",
    error_query='sum(checkout_failed_total{app="shop"})',
    total_query='sum(checkout_total{app="shop"})',
    max=1,
)


def evidence(
    canary: dict[str, int],
    stable: dict[str, int] | None = None,
    *,
    step: dict[str, int] | None = None,
    resets: int = 0,
) -> Evidence:
    """A shift's evidence; the canary's step counts are its shift counts unless given."""
    stable = stable or {}
    return Evidence(
        since=STEP_START,
        read_at=NOW,
        step_started_at=STEP_START,
        canary=SubsetEvidence(shift=canary, step=canary if step is None else step),
        stable=SubsetEvidence(shift=stable, step=stable),
        resets=resets,
    )


def check(**overrides: Any) -> SequentialCheck:
    fields: dict[str, Any] = {
        "confidence": 0.99,
        "gate_count": 1,
        "min_requests": 50,
        "step": 1,
        "step_started_at": STEP_START,
        "now": NOW,
        "final_step": False,
    }
    return SequentialCheck(**{**fields, **overrides})


def judge(gate: Gate, shift: Evidence, **overrides: Any) -> GateStatus:
    (status,) = judge_sequential([gate], shift, check(**overrides), {gate.name: "Q"})
    return status


def latency(le250: int, le500: int, le1000: int, total: int) -> dict[str, int]:
    """Cumulative Istio duration buckets (plus the request count)."""
    return {
        "requests": total,
        "le=250": le250,
        "le=500": le500,
        "le=1000": le1000,
        "le=+Inf": total,
    }


# -- fail, pass, wait -------------------------------------------------------------------------


def test_a_clearly_bad_canary_fails_critically_with_its_evidence() -> None:
    """20% 5xx against max 1%: FAIL, critical, judged sequentially, e-value over its bound."""
    status = judge(ERROR_RATE, evidence({"requests": 100, "errors": 20}))
    assert status.verdict is FAIL
    assert status.critical is True
    assert status.waiting is False
    assert status.judge == "sequential"
    assert status.checked_at == NOW
    assert status.query == "Q"
    assert status.value == pytest.approx(20.0)
    shown = status.evidence
    assert shown is not None
    assert shown.e_value >= shown.bound
    assert shown.bound == pytest.approx(100)
    assert shown.e_value == pytest.approx(math.exp(log_e_value(20, 100, 0.01)), rel=1e-9)
    assert shown.hypothesis == "canary 5xx share <= 1%"
    assert shown.null_rate == pytest.approx(0.01)
    assert (shown.canary_events, shown.canary_requests) == (20, 100)
    assert (shown.step_events, shown.step_requests) == (20, 100)
    assert (shown.stable_events, shown.stable_requests) == (None, None)


def test_a_healthy_canary_with_enough_step_requests_passes() -> None:
    """0.2% 5xx over 1000 requests against max 1%: PASS, not critical, e-value under its bound."""
    status = judge(ERROR_RATE, evidence({"requests": 1000, "errors": 2}))
    assert status.verdict is PASS
    assert status.critical is False
    assert status.waiting is False
    assert status.evidence is not None
    assert status.evidence.e_value < 1 < status.evidence.bound
    assert status.message.startswith("error-rate: no evidence against the canary: canary 2/1000")


def test_with_fewer_than_min_requests_since_the_step_began_the_gate_waits() -> None:
    """10 of 50 step requests and nothing refuted: INCONCLUSIVE, waiting, and says how many."""
    shift = evidence({"requests": 1000, "errors": 2}, step={"requests": 10})
    status = judge(ERROR_RATE, shift, step=3)
    assert status.verdict is INCONCLUSIVE
    assert status.waiting is True
    assert status.critical is False
    assert status.message.startswith(
        "error-rate: waiting for evidence: 10 of 50 canary requests since step 3 began; "
    )


def test_min_requests_step_requests_are_enough() -> None:
    """Exactly minRequests step requests is enough to pass."""
    shift = evidence({"requests": 1000, "errors": 2}, step={"requests": 50})
    assert judge(ERROR_RATE, shift).verdict is PASS
    shift = evidence({"requests": 1000, "errors": 2}, step={"requests": 49})
    assert judge(ERROR_RATE, shift).verdict is INCONCLUSIVE


def test_evidence_against_the_canary_fails_even_while_waiting_for_step_requests() -> None:
    """A gate fails the moment its e-value reaches the bound, however few step requests."""
    shift = evidence({"requests": 100, "errors": 20}, step={"requests": 5, "errors": 3})
    status = judge(ERROR_RATE, shift)
    assert status.verdict is FAIL
    assert status.waiting is False
    assert status.evidence is not None
    assert (status.evidence.step_events, status.evidence.step_requests) == (3, 5)


def test_the_hypothesis_is_tested_on_the_whole_shift_not_the_step() -> None:
    """A clean step does not hide the shift's 5xx: evidence counts over the shift."""
    shift = evidence({"requests": 300, "errors": 30}, step={"requests": 100})
    assert judge(ERROR_RATE, shift).verdict is FAIL


# -- promotion: the last step must also bound the canary's rate -------------------------------


def test_promotion_limit_multiplies_the_odds_and_has_none_at_the_ends() -> None:
    """The limit is the rate with PROMOTION_ODDS times the odds; 0 and 1 have no limit."""
    odds = PROMOTION_ODDS * 0.01 / 0.99
    assert promotion_limit(0.01) == pytest.approx(odds / (1 + odds))
    assert 0.04 < (promotion_limit(0.01) or 0) < 0.05
    assert promotion_limit(0.0) is None
    assert promotion_limit(1.0) is None


def test_at_the_last_step_a_canary_not_refuted_but_not_bounded_waits() -> None:
    """5 of 94 (the kind of luck a 20% canary has at 2 rps): not refuted at 1%, but its rate is
    not shown below the limit either: the last step waits, it does not pass."""
    shift = evidence({"requests": 94, "errors": 5}, step={"requests": 50})
    assert judge(ERROR_RATE, shift).verdict is PASS  # an intermediate step advances
    status = judge(ERROR_RATE, shift, final_step=True)
    assert status.verdict is INCONCLUSIVE
    assert status.waiting is True
    assert status.critical is False
    limit = promotion_limit(0.01) or 0
    high = upper_bound(5, 94, 0.01)
    assert high > limit
    assert status.message.startswith(
        f"error-rate: waiting for evidence to promote: the canary's rate is not yet shown "
        f"below {100 * limit:.3g}% for 'canary 5xx share <= 1%' (upper bound {100 * high:.3g}% "
        "on 5/94 (5.32%)); canary 0/50 (0%) since step 1"
    )


@pytest.mark.parametrize("requests", [120, 200, 1000])
def test_at_the_last_step_the_gate_passes_exactly_when_the_bound_is_below_the_limit(
    requests: int,
) -> None:
    """Passing at the last step is the lower-tail test at the limit reaching 1/alpha: the same
    counts pass once there are enough of them, and the message says what was shown."""
    shift = evidence({"requests": requests, "errors": 1}, step={"requests": 60})
    status = judge(ERROR_RATE, shift, final_step=True)
    limit = promotion_limit(0.01) or 0
    shown = log_e_value_below(1, requests, limit) >= math.log(100)
    assert shown == (upper_bound(1, requests, 0.01) < limit + 1e-9)
    assert status.verdict is (PASS if shown else INCONCLUSIVE)
    assert status.waiting is not shown
    if shown:
        assert status.message.endswith(
            f"rate shown below {100 * limit:.3g}% ('canary 5xx share <= 1%')"
        )


def test_at_the_last_step_every_hypothesis_must_be_bounded() -> None:
    """A relative gate's hypothesis is bounded against its own null (the stable's bound)."""
    stable = {"requests": 5000, "errors": 5}
    canary = {"requests": 60, "errors": 0}
    status = judge(ERROR_RATIO, evidence(canary, stable), final_step=True, min_requests=20)
    assert status.verdict is INCONCLUSIVE
    assert status.waiting is True
    assert "not yet shown below" in status.message
    canary = {"requests": 3000, "errors": 2}
    status = judge(ERROR_RATIO, evidence(canary, stable), final_step=True, min_requests=20)
    assert status.verdict is PASS


def test_a_zero_threshold_needs_no_bound_to_promote() -> None:
    """max 0 is refuted by any 5xx; with none there is nothing more to show."""
    gate = Gate(name="error-rate", max=0)
    status = judge(gate, evidence({"requests": 60, "errors": 0}), final_step=True)
    assert status.verdict is PASS


def test_no_canary_requests_waits_without_evidence() -> None:
    """No requests at all: no evidence either way, waiting for traffic."""
    status = judge(ERROR_RATE, evidence({}))
    assert status.verdict is INCONCLUSIVE
    assert status.waiting is True
    assert status.value is None
    assert status.evidence is not None
    assert status.evidence.e_value == pytest.approx(1.0)
    assert "0 of 50 canary requests" in status.message


def test_a_zero_threshold_is_refuted_by_one_5xx_and_reported_as_a_finite_e_value() -> None:
    """max 0 with one 5xx: E is infinite, stored as the largest JSON-safe number."""
    status = judge(Gate(name="error-rate", max=0), evidence({"requests": 100, "errors": 1}))
    assert status.verdict is FAIL
    assert status.evidence is not None
    assert math.isfinite(status.evidence.e_value)
    assert status.evidence.e_value >= 1e300


# -- latency: counted above the smallest bucket edge at or above max --------------------------


@pytest.mark.parametrize(
    ("limit", "edge", "slow"),
    [
        (400, "500 ms", 100),  # between edges: the next edge up, a conservative test
        (500, "500 ms", 100),  # on an edge: exactly it
        (250, "250 ms", 400),
        (501, "1000 ms", 10),
    ],
)
def test_latency_is_counted_above_the_smallest_edge_at_or_above_max(
    limit: float, edge: str, slow: int
) -> None:
    """max M on latency-p99: events are the timed requests above the first edge >= M."""
    gate = Gate(name="latency-p99", max=limit)
    status = judge(gate, evidence(latency(le250=600, le500=900, le1000=990, total=1000)))
    assert status.evidence is not None
    assert (status.evidence.canary_events, status.evidence.canary_requests) == (slow, 1000)
    assert status.evidence.hypothesis == (
        f"canary p99 <= {limit:g} ms: at most 1% of requests above {edge}"
    )
    assert status.evidence.null_rate == pytest.approx(0.01)


def test_requests_between_max_and_the_next_edge_are_not_counted_against_the_canary() -> None:
    """max 400: every request between 250 and 500 ms might be under 400, so none is an event."""
    status = judge(Gate(name="latency-p99", max=400), evidence(latency(0, 1000, 1000, 1000)))
    assert status.verdict is PASS
    assert status.evidence is not None
    assert status.evidence.canary_events == 0


def test_a_slow_canary_fails_its_latency_gate() -> None:
    """10% of requests above 500 ms against p99 <= 400 ms: FAIL, critical."""
    status = judge(Gate(name="latency-p99", max=400), evidence(latency(500, 900, 1000, 1000)))
    assert status.verdict is FAIL
    assert status.critical is True
    assert status.evidence is not None
    assert status.evidence.canary_events == 100
    assert status.evidence.e_value >= status.evidence.bound


def test_a_latency_max_above_every_edge_counts_no_request_as_slower() -> None:
    """No edge at or above max: nothing can be shown slower than it, the gate cannot fail."""
    status = judge(Gate(name="latency-p99", max=5000), evidence(latency(0, 0, 0, 1000)))
    assert status.verdict is PASS
    assert status.evidence is not None
    assert status.evidence.canary_events == 0
    assert "above the largest bucket" in status.evidence.hypothesis


def test_latency_edges_written_with_a_decimal_point_are_found() -> None:
    """le="500.0" is the 500 ms edge."""
    counts = {"requests": 1000, "le=500.0": 900, "le=+Inf": 1000}
    status = judge(Gate(name="latency-p99", max=400), evidence(counts))
    assert status.evidence is not None
    assert status.evidence.canary_events == 100
    assert "above 500 ms" in status.evidence.hypothesis


@pytest.mark.parametrize(("name", "share"), [("latency-p50", "50%"), ("latency-p90", "10%")])
def test_other_quantiles_test_their_own_share(name: str, share: str) -> None:
    """latency-p50 tests at most 50% above the edge, latency-p90 at most 10%."""
    status = judge(Gate(name=name, max=500), evidence(latency(500, 900, 1000, 1000)))
    assert status.evidence is not None
    assert f"at most {share} of requests above 500 ms" in status.evidence.hypothesis


# -- relative gates ---------------------------------------------------------------------------


def test_a_relative_gate_without_stable_requests_is_inconclusive_not_waiting() -> None:
    """maxRatioToStable with no stable requests: cannot be tested yet; not a wait for canary."""
    status = judge(ERROR_RATIO, evidence({"requests": 1000, "errors": 2}))
    assert status.verdict is INCONCLUSIVE
    assert status.waiting is False
    assert status.critical is False
    assert "the stable subset has no requests counted yet to compare with" in status.message


def test_a_canary_far_worse_than_stable_fails_a_ratio_gate() -> None:
    """5% vs stable 0.1%, max 1.5x: FAIL against 1.5 x the stable's upper bound at alpha/2."""
    shift = evidence({"requests": 1000, "errors": 50}, {"requests": 10000, "errors": 10})
    status = judge(ERROR_RATIO, shift)
    assert status.verdict is FAIL
    assert status.critical is True
    shown = status.evidence
    assert shown is not None
    assert shown.null_rate == pytest.approx(1.5 * upper_bound(10, 10000, 0.01 / 2))
    assert shown.bound == pytest.approx(2 / 0.01)  # the canary's half of the gate's alpha
    assert (shown.stable_events, shown.stable_requests) == (10, 10000)
    assert shown.ratio_low is not None
    assert shown.ratio_low > 1.5
    assert "stable 10/10000 (0.1%)" in status.message
    assert "canary/stable ratio in [" in status.message


def test_a_canary_like_stable_passes_a_ratio_gate() -> None:
    """0.1% vs stable 0.1%: nothing refuted, PASS."""
    shift = evidence({"requests": 1000, "errors": 1}, {"requests": 10000, "errors": 10})
    status = judge(ERROR_RATIO, shift)
    assert status.verdict is PASS
    assert status.evidence is not None
    assert status.evidence.ratio_low is not None
    assert status.evidence.ratio_high is not None
    assert status.evidence.ratio_low <= 1 <= status.evidence.ratio_high


def test_max_over_stable_adds_its_allowance_in_percent_to_the_stable_bound() -> None:
    """maxOverStable: 2 tests the canary against the stable's upper bound + 2%."""
    gate = Gate(name="error-rate", max_over_stable=2)
    shift = evidence({"requests": 1000, "errors": 5}, {"requests": 10000, "errors": 10})
    status = judge(gate, shift)
    assert status.evidence is not None
    assert status.evidence.null_rate == pytest.approx(upper_bound(10, 10000, 0.01 / 2) + 0.02)
    assert status.verdict is PASS


def test_a_relative_latency_gate_cannot_be_tested_before_the_stable_is_bounded() -> None:
    """Too few stable timed requests to bound its p99: INCONCLUSIVE, saying how many."""
    shift = evidence(latency(500, 900, 1000, 1000), latency(5, 10, 10, 10))
    status = judge(LATENCY_RATIO, shift)
    assert status.verdict is INCONCLUSIVE
    assert status.waiting is False
    assert "the stable subset's p99 cannot be bounded yet (10 timed requests counted)" in (
        status.message
    )


def test_a_canary_much_slower_than_stable_fails_a_latency_ratio_gate() -> None:
    """Stable p99 bounded by 250 ms, canary 10% above 500 ms against 1.2x: FAIL."""
    shift = evidence(latency(500, 900, 1000, 1000), latency(9990, 10000, 10000, 10000))
    status = judge(LATENCY_RATIO, shift)
    assert status.verdict is FAIL
    assert status.critical is True
    assert status.evidence is not None
    assert "1.2x stable's (bound 250 ms)" in status.evidence.hypothesis
    assert "above 500 ms" in status.evidence.hypothesis


def test_a_canary_as_fast_as_stable_passes_a_latency_ratio_gate() -> None:
    """Both with their p99 under 250 ms: PASS."""
    shift = evidence(latency(999, 1000, 1000, 1000), latency(9990, 10000, 10000, 10000))
    assert judge(LATENCY_RATIO, shift).verdict is PASS


EVIDENCE_CASES = [
    pytest.param(ERROR_RATE, evidence({"requests": 100, "errors": 20}), id="error-rate-max"),
    pytest.param(LATENCY, evidence(latency(500, 900, 1000, 1000)), id="latency-max"),
    pytest.param(
        ERROR_RATIO,
        evidence({"requests": 1000, "errors": 50}, {"requests": 10000, "errors": 10}),
        id="error-rate-ratio",
    ),
    pytest.param(
        LATENCY_RATIO,
        evidence(latency(500, 900, 1000, 1000), latency(9990, 10000, 10000, 10000)),
        id="latency-ratio",
    ),
    pytest.param(
        Gate(name="latency-p99", max=1000, max_ratio_to_stable=1.2),
        evidence(latency(500, 900, 1000, 1000), latency(9990, 10000, 10000, 10000)),
        id="latency-max-and-ratio",
    ),
    pytest.param(
        CHECKOUT,
        evidence({"checkout-failures:errors": 20, "checkout-failures:total": 100}),
        id="count-gate",
    ),
]


@pytest.mark.parametrize(("gate", "shift"), EVIDENCE_CASES)
def test_a_failure_shows_the_counts_its_e_value_was_computed_from(
    gate: Gate, shift: Evidence
) -> None:
    """Every decision shows its evidence: the reported canary counts and null rate give back the
    reported e-value, so the counts in the status and message are the ones that were judged."""
    status = judge(gate, shift)
    assert status.verdict is FAIL
    shown = status.evidence
    assert shown is not None
    assert shown.null_rate is not None
    recomputed = math.exp(log_e_value(shown.canary_events, shown.canary_requests, shown.null_rate))
    assert shown.e_value == pytest.approx(recomputed, rel=1e-6)
    assert shown.canary_events > 0  # a failure with no events against the canary says nothing


# -- alpha: shared between gates, and within a gate between its hypotheses --------------------


@pytest.mark.parametrize(
    ("confidence", "gate_count", "bound"),
    [(0.99, 1, 100), (0.99, 2, 200), (0.95, 4, 80), (0.999, 3, 3000), (0.99, 0, 100)],
)
def test_alpha_is_shared_evenly_between_the_shifts_gates(
    confidence: float, gate_count: int, bound: float
) -> None:
    """The bound of a one-hypothesis gate is gate_count / (1 - confidence)."""
    status = judge(
        ERROR_RATE,
        evidence({"requests": 1000, "errors": 2}),
        confidence=confidence,
        gate_count=gate_count,
    )
    assert status.evidence is not None
    assert status.evidence.bound == pytest.approx(bound)
    assert f"bound {bound:.3g} (confidence {confidence:g})" in status.message


def test_evidence_between_the_one_gate_and_two_gate_bounds_fails_only_one_gate() -> None:
    """24 5xx of 1000 against 1% gives E of about 145: over 100 (one gate), under 200 (two)."""
    shift = evidence({"requests": 1000, "errors": 24})
    assert 100 < math.exp(log_e_value(24, 1000, 0.01)) < 200
    assert judge(ERROR_RATE, shift, gate_count=1).verdict is FAIL
    assert judge(ERROR_RATE, shift, gate_count=2).verdict is PASS


def test_a_gate_with_two_hypotheses_gives_each_half_its_alpha() -> None:
    """max and maxRatioToStable: the max hypothesis is tested at alpha/2, the ratio at alpha/4
    (the other alpha/4 goes to the stable's bound)."""
    bad_vs_max = evidence({"requests": 1000, "errors": 23}, {"requests": 10000, "errors": 2000})
    status = judge(Gate(name="error-rate", max=1, max_ratio_to_stable=1.5), bad_vs_max)
    assert status.evidence is not None
    assert status.evidence.hypothesis == "canary 5xx share <= 1%"
    assert status.evidence.bound == pytest.approx(200)
    assert status.verdict is PASS  # E ~ 143: enough for a lone max at alpha, not at alpha/2
    bad_vs_stable = evidence({"requests": 1000, "errors": 50}, {"requests": 10000, "errors": 10})
    status = judge(Gate(name="error-rate", max=10, max_ratio_to_stable=1.5), bad_vs_stable)
    assert status.verdict is FAIL
    assert status.evidence is not None
    assert status.evidence.hypothesis.startswith("canary 5xx share <= 1.5x stable's")
    assert status.evidence.bound == pytest.approx(400)
    assert status.evidence.null_rate == pytest.approx(1.5 * upper_bound(10, 10000, 0.01 / 4))


# -- count gates ------------------------------------------------------------------------------


def test_a_count_gate_is_judged_on_its_own_counters() -> None:
    """<gate>:errors of <gate>:total; its step count is <gate>:total since the step began."""
    bad = evidence(
        {"requests": 5000, "checkout-failures:errors": 20, "checkout-failures:total": 100}
    )
    status = judge(CHECKOUT, bad)
    assert status.verdict is FAIL
    assert status.evidence is not None
    assert status.evidence.hypothesis == "canary checkout-failures share <= 1%"
    assert (status.evidence.canary_events, status.evidence.canary_requests) == (20, 100)
    waiting = evidence(
        {"requests": 5000, "checkout-failures:total": 1000},
        step={"requests": 5000, "checkout-failures:total": 10},
    )
    status = judge(CHECKOUT, waiting)
    assert status.verdict is INCONCLUSIVE
    assert status.waiting is True
    assert "10 of 50 canary requests" in status.message


# -- messages ---------------------------------------------------------------------------------


def test_a_failure_message_states_counts_rates_evidence_and_bound() -> None:
    """The message has step and shift counts with rates, the e-value, hypothesis and bound."""
    shift = evidence({"requests": 100, "errors": 20}, step={"requests": 61, "errors": 14})
    status = judge(ERROR_RATE, shift)
    e_value = math.exp(log_e_value(20, 100, 0.01))
    assert status.message == (
        "error-rate: evidence against the canary: canary 14/61 (23%) since step 1 began 40s ago, "
        f"20/100 (20%) over the shift; evidence {e_value:.3g} against 'canary 5xx share <= 1%', "
        "bound 100 (confidence 0.99)"
    )


def test_the_message_mentions_skipped_counter_resets() -> None:
    """Resets seen during the shift are named in the message."""
    status = judge(ERROR_RATE, evidence({"requests": 1000, "errors": 2}, resets=2))
    assert status.message.endswith("; 2 counter reset(s) skipped")


def test_without_a_step_start_the_message_gives_no_age() -> None:
    """No step_started_at: 'since step 1 began', with no seconds."""
    status = judge(ERROR_RATE, evidence({"requests": 1000, "errors": 2}), step_started_at=None)
    assert "since step 1 began, 2/1000 (0.2%) over the shift" in status.message


def test_every_gate_gets_one_status_in_order_with_its_query() -> None:
    """judge_sequential returns one status per gate, in order, each with its own query."""
    gates = [ERROR_RATE, LATENCY]
    shift = evidence(latency(999, 1000, 1000, 1000))
    statuses = judge_sequential(
        gates, shift, check(gate_count=2), {"error-rate": "E", "latency-p99": "L"}
    )
    assert [(s.name, s.query, s.verdict) for s in statuses] == [
        ("error-rate", "E", PASS),
        ("latency-p99", "L", PASS),
    ]
    assert all(s.judge == "sequential" for s in statuses)
    assert all(s.evidence is not None and s.evidence.bound == pytest.approx(200) for s in statuses)


EDGES = ("0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000")


def counted(total: int, all_below: float) -> dict[str, int]:
    """Counts as counting records them: a bucket no request fell in has no key at all."""
    found = {"requests": total, "le=+Inf": total}
    found.update({f"le={e}": total for e in EDGES if float(e) >= all_below})
    return found


def test_a_relative_latency_gate_sees_the_edges_no_request_fell_in() -> None:
    """A canary 1 s slower fails a ratio gate although no canary request is counted under
    1000 ms: the edges come from the counters read, not from the non-zero counts."""
    read = {f"le={e}": 0.0 for e in EDGES} | {"le=+Inf": 0.0, "requests": 0.0}
    shift = Evidence(
        since=STEP_START,
        read_at=NOW,
        step_started_at=STEP_START,
        canary=SubsetEvidence(read=read, shift=counted(200, 2500), step=counted(200, 2500)),
        stable=SubsetEvidence(read=read, shift=counted(3000, 250), step=counted(3000, 250)),
    )
    status = judge(Gate(name="latency-p99", max_ratio_to_stable=1.5), shift)
    assert status.verdict is GateVerdict.FAIL
    assert status.evidence is not None
    assert "bound 250 ms" in status.evidence.hypothesis
    assert "above 500 ms" in status.evidence.hypothesis
    assert (status.evidence.step_events, status.evidence.step_requests) == (200, 200)
