"""One analysis pass with a fake client: query order, minRequests, relative gates, failures."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controller.analysis.client import FailureKind, PrometheusError, Sample
from controller.analysis.evaluate import evaluate_gates, single_value
from controller.analysis.selectors import SubsetSelector
from controller.analysis.templates import ShiftVariables, render_builtin, render_request_count
from controller.api.gates import Gate
from controller.api.status import GateStatus, GateVerdict
from tests.unit.analysis.fakes import Answer, FakeClient, one

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=1)
CANARY = SubsetSelector(service="reviews", namespace="bookinfo", version="v3")
STABLE = SubsetSelector(service="reviews", namespace="bookinfo", version="v1")
COUNT = render_request_count(CANARY, WINDOW)
ERRORS_V3 = render_builtin("error-rate", CANARY, WINDOW)
P99_V3 = render_builtin("latency-p99", CANARY, WINDOW)
P99_V1 = render_builtin("latency-p99", STABLE, WINDOW)
DOWN = PrometheusError(FailureKind.UNREACHABLE, "Prometheus at http://p is unreachable: refused")
BAD = PrometheusError(FailureKind.BAD_QUERY, "Prometheus at http://p rejected the query: parse")


def gates(*specs: dict[str, Any]) -> list[Gate]:
    return [Gate.model_validate(spec) for spec in specs]


def run(
    gate_list: list[Gate], answers: dict[str, Answer], min_requests: int = 20
) -> tuple[list[GateStatus], FakeClient]:
    client = FakeClient(answers)
    statuses = evaluate_gates(
        gate_list,
        canary=CANARY,
        stable=STABLE,
        window=WINDOW,
        min_requests=min_requests,
        client=client,
        now=NOW,
        variables=ShiftVariables(namespace="bookinfo", virtual_service="reviews"),
    )
    return statuses, client


def verdicts(statuses: list[GateStatus]) -> list[tuple[str, GateVerdict]]:
    return [(s.name, s.verdict) for s in statuses]


DEFAULT = gates({"name": "error-rate", "max": 1}, {"name": "latency-p99", "max": 500})


def test_the_request_count_is_queried_first_then_each_gate_in_order() -> None:
    statuses, client = run(DEFAULT, {COUNT: one(120), ERRORS_V3: one(0.4), P99_V3: one(250)})
    assert client.asked == [COUNT, ERRORS_V3, P99_V3]
    assert verdicts(statuses) == [
        ("error-rate", GateVerdict.PASS),
        ("latency-p99", GateVerdict.PASS),
    ]
    assert all(s.checked_at == NOW for s in statuses)
    assert [s.query for s in statuses] == [ERRORS_V3, P99_V3]


def test_one_failing_gate_does_not_change_the_others() -> None:
    statuses, _ = run(DEFAULT, {COUNT: one(120), ERRORS_V3: one(3.2), P99_V3: one(250)})
    assert verdicts(statuses) == [
        ("error-rate", GateVerdict.FAIL),
        ("latency-p99", GateVerdict.PASS),
    ]
    assert statuses[0].message == "error-rate 3.2 > 1 (max)"


@pytest.mark.parametrize(("count", "shown"), [(7.2, 7), ([], 0), (math.nan, 0), (19.4, 19)])
def test_below_min_requests_every_gate_is_inconclusive_and_no_gate_is_queried(
    count: float | list[Sample], shown: int
) -> None:
    answer = count if isinstance(count, list) else one(count)
    statuses, client = run(DEFAULT, {COUNT: answer})
    assert client.asked == [COUNT]
    assert verdicts(statuses) == [
        ("error-rate", GateVerdict.INCONCLUSIVE),
        ("latency-p99", GateVerdict.INCONCLUSIVE),
    ]
    assert statuses[0].message.startswith(f"only {shown} canary requests in 1m, need 20")
    assert statuses[0].query == COUNT


def test_exactly_min_requests_is_enough() -> None:
    statuses, _ = run(DEFAULT, {COUNT: one(19.6), ERRORS_V3: one(0), P99_V3: one(10)})
    assert verdicts(statuses) == [
        ("error-rate", GateVerdict.PASS),
        ("latency-p99", GateVerdict.PASS),
    ]


def test_min_requests_zero_judges_even_an_idle_canary() -> None:
    statuses, _ = run(DEFAULT, {COUNT: [], ERRORS_V3: [], P99_V3: one(math.nan)}, min_requests=0)
    assert verdicts(statuses) == [
        ("error-rate", GateVerdict.INCONCLUSIVE),
        ("latency-p99", GateVerdict.INCONCLUSIVE),
    ]


def test_an_unreadable_request_count_makes_every_gate_error_after_one_query() -> None:
    statuses, client = run(DEFAULT, {COUNT: DOWN})
    assert client.asked == [COUNT]
    assert verdicts(statuses) == [
        ("error-rate", GateVerdict.ERROR),
        ("latency-p99", GateVerdict.ERROR),
    ]
    assert statuses[1].message == f"latency-p99: {DOWN.message}"


def test_a_rejected_custom_query_fails_its_gate_and_the_others_are_still_judged() -> None:
    custom = gates(
        {"name": "broken", "query": "sum(rate(x[1m]", "max": 1},
        {"name": "error-rate", "max": 1},
    )
    statuses, _ = run(custom, {COUNT: one(100), "sum(rate(x[1m]": BAD, ERRORS_V3: one(0.5)})
    # Deterministic: it would fail the same way on every check, so it is a failed check (which
    # rolls back after failureLimit), not an outage that holds the gate unenforced.
    assert verdicts(statuses) == [("broken", GateVerdict.FAIL), ("error-rate", GateVerdict.PASS)]
    assert statuses[0].message.startswith(f"broken: its query cannot be judged ({BAD.message})")
    assert "fix the gate's PromQL" in statuses[0].message
    assert not statuses[0].critical
    assert statuses[0].query == "sum(rate(x[1m]"


def test_an_outage_on_a_custom_query_is_an_error_that_holds_not_a_failure() -> None:
    custom = gates({"name": "cpu", "query": "sum(cpu)", "max": 1})
    for failure in (DOWN, PrometheusError(FailureKind.TIMEOUT, "gave up")):
        statuses, _ = run(custom, {COUNT: one(100), "sum(cpu)": failure})
        assert verdicts(statuses) == [("cpu", GateVerdict.ERROR)]
    server = PrometheusError(FailureKind.SERVER, "HTTP 503")
    statuses, _ = run(custom, {COUNT: one(100), "sum(cpu)": server})
    assert verdicts(statuses) == [("cpu", GateVerdict.ERROR)]


def test_a_rejected_builtin_query_stays_an_error() -> None:
    # A builtin's PromQL is ours, not the gate author's: it holds (the deadline still ends it).
    statuses, _ = run(gates({"name": "error-rate", "max": 1}), {COUNT: one(100), ERRORS_V3: BAD})
    assert verdicts(statuses) == [("error-rate", GateVerdict.ERROR)]


def test_a_rejected_stable_side_of_a_custom_relative_gate_fails_it() -> None:
    custom = gates({"name": "cpu", "query": 'sum(cpu{v="{{ version }}"})', "maxRatioToStable": 2})
    v3, v1 = 'sum(cpu{v="v3"})', 'sum(cpu{v="v1"})'
    statuses, _ = run(custom, {COUNT: one(100), v3: one(1), v1: BAD})
    assert statuses[0].verdict is GateVerdict.FAIL
    assert "stable side: " in statuses[0].message


def test_once_prometheus_is_unreachable_the_remaining_gates_are_not_queried() -> None:
    statuses, client = run(DEFAULT, {COUNT: one(100), ERRORS_V3: DOWN})
    assert client.asked == [COUNT, ERRORS_V3]
    assert verdicts(statuses) == [
        ("error-rate", GateVerdict.ERROR),
        ("latency-p99", GateVerdict.ERROR),
    ]
    assert statuses[1].query == P99_V3
    assert DOWN.message in statuses[1].message


def test_a_relative_gate_queries_the_stable_side_with_the_stable_selector() -> None:
    relative = gates({"name": "latency-p99", "maxRatioToStable": 1.2})
    statuses, client = run(relative, {COUNT: one(100), P99_V3: one(130), P99_V1: one(100)})
    assert client.asked == [COUNT, P99_V3, P99_V1]
    assert statuses[0].verdict is GateVerdict.FAIL
    assert (statuses[0].value, statuses[0].stable_value) == (130, 100)


def test_a_relative_gate_with_no_stable_data_is_inconclusive() -> None:
    relative = gates({"name": "latency-p99", "maxOverStable": 50})
    statuses, _ = run(relative, {COUNT: one(100), P99_V3: one(130), P99_V1: []})
    assert statuses[0].verdict is GateVerdict.INCONCLUSIVE
    assert "stable value missing" in statuses[0].message


def test_a_relative_gate_skips_the_stable_query_when_the_canary_has_no_data() -> None:
    relative = gates({"name": "latency-p99", "maxOverStable": 50})
    statuses, client = run(relative, {COUNT: one(100), P99_V3: one(math.nan)})
    assert client.asked == [COUNT, P99_V3]
    assert statuses[0].verdict is GateVerdict.INCONCLUSIVE


def test_a_failing_stable_query_errors_the_gate_and_says_it_was_the_stable_side() -> None:
    relative = gates({"name": "latency-p99", "maxOverStable": 50})
    statuses, _ = run(relative, {COUNT: one(100), P99_V3: one(130), P99_V1: BAD})
    assert statuses[0].verdict is GateVerdict.ERROR
    assert statuses[0].message.startswith("latency-p99: stable side: ")
    assert P99_V1 in statuses[0].message


def test_a_custom_relative_gate_renders_version_per_side() -> None:
    custom = gates(
        {
            "name": "cpu",
            "query": 'avg(cpu{version="{{ version }}"}[{{ window }}])',
            "maxRatioToStable": 2,
        }
    )
    v3, v1 = 'avg(cpu{version="v3"}[1m])', 'avg(cpu{version="v1"}[1m])'
    statuses, client = run(custom, {COUNT: one(100), v3: one(0.5), v1: one(0.4)})
    assert client.asked == [COUNT, v3, v1]
    assert statuses[0].verdict is GateVerdict.PASS


def test_a_query_returning_several_series_fails_asking_to_aggregate() -> None:
    custom = gates({"name": "by-pod", "query": "cpu", "max": 1})
    two = [Sample(0.1, {"pod": "a"}), Sample(0.2, {"pod": "b"})]
    statuses, _ = run(custom, {COUNT: one(100), "cpu": two})
    assert statuses[0].verdict is GateVerdict.FAIL
    assert 'returned 2 series ({pod="a"}, {pod="b"})' in statuses[0].message
    assert "sum(...)" in statuses[0].message


def test_a_gate_that_is_neither_builtin_nor_custom_is_an_error_not_a_crash() -> None:
    statuses, client = run(gates({"name": "saturation", "max": 1}), {COUNT: one(100)})
    assert client.asked == [COUNT]
    assert statuses[0].verdict is GateVerdict.ERROR
    assert "has no query and is not a builtin gate" in statuses[0].message


def test_single_value_of_an_empty_result_is_none() -> None:
    assert single_value([]) is None
    assert single_value(one(2.5)) == 2.5
