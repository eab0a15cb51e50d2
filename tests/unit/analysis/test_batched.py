"""Batched gate rounds with a fake client: grouping, exact queries, fan-out, per-shift parity."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from controller.analysis.batched import CheckRequest, group_matchers, request_for
from controller.analysis.evaluate import evaluate_gates
from controller.analysis.selectors import SubsetSelector
from controller.analysis.templates import ShiftVariables, render_builtin, render_request_count
from controller.analysis.verdicts import too_few_requests_message
from controller.api.status import GateStatus, GateVerdict, TrafficShiftStatus
from controller.api.trafficshift import TrafficShiftSpec
from tests.unit.analysis.batch_builders import (
    BY,
    NOW,
    WINDOW,
    batched,
    canaries,
    gates,
    healthy,
    run,
    series,
    shift,
    verdicts,
)
from tests.unit.analysis.fakes import Answer, FakeClient, one


@pytest.mark.parametrize("shifts", [1, 7, 60])
def test_any_number_of_shifts_with_three_builtin_gates_costs_four_queries(shifts: int) -> None:
    requests = [shift(i) for i in range(shifts)]
    result, client = run(requests, healthy(requests))
    assert client.asked == [
        batched("count", requests),
        batched("error-rate", requests),
        batched("latency-p90", requests),
        batched("latency-p99", requests),
    ]
    assert result.queries == 4
    assert set(result.statuses) == {r.key for r in requests}
    for request in requests:
        assert verdicts(result.statuses[request.key]) == [
            ("error-rate", GateVerdict.PASS),
            ("latency-p90", GateVerdict.PASS),
            ("latency-p99", GateVerdict.PASS),
        ]


def test_each_status_records_the_batched_query_it_was_judged_on() -> None:
    requests = [shift(0), shift(1)]
    result, _ = run(requests, healthy(requests))
    for request in requests:
        statuses = result.statuses[request.key]
        assert [s.query for s in statuses] == [
            batched("error-rate", requests),
            batched("latency-p90", requests),
            batched("latency-p99", requests),
        ]
        assert all(s.checked_at == NOW for s in statuses)


def test_the_count_query_is_grouped_by_subset_labels_and_restricted_to_the_namespaces() -> None:
    requests = [shift(1), shift(0)]
    result, client = run(requests, healthy(requests))
    assert client.asked[0] == (
        f"sum by ({BY}) (increase(istio_requests_total"
        '{reporter="destination",destination_workload_namespace=~"team-0|team-1"}[1m]))'
    )
    assert result.queries == 4


def test_group_matchers_list_sorted_unique_namespaces_with_dots_escaped() -> None:
    matchers = group_matchers("destination", ["zeta", "a.b", "zeta", "mid"])
    assert matchers == r'reporter="destination",destination_workload_namespace=~"a\\.b|mid|zeta"'


def test_the_error_rate_query_keeps_a_zero_for_subsets_without_5xx() -> None:
    query = batched("error-rate", [shift(0)])
    within = '{reporter="destination",destination_workload_namespace=~"team-0"}'
    assert query == (
        f"100 * (sum by ({BY}) (rate(istio_requests_total"
        f'{within[:-1]},response_code=~"5.."}}[1m])) '
        f"or 0 * sum by ({BY}) (rate(istio_requests_total{within}[1m]))) "
        f"/ sum by ({BY}) (rate(istio_requests_total{within}[1m]))"
    )


def test_shifts_with_two_windows_are_two_groups_each_with_its_own_namespaces() -> None:
    short = [shift(0), shift(1)]
    long = [shift(2, window=timedelta(minutes=5))]
    answers = healthy(short) | {
        batched(name, long, timedelta(minutes=5)): answer
        for name, answer in zip(
            ["count", "error-rate", "latency-p90", "latency-p99"],
            [canaries(long, 500), canaries(long, 0.1), canaries(long, 90), canaries(long, 120)],
            strict=True,
        )
    }
    result, client = run([*short, *long], answers)
    assert result.queries == 8
    assert client.asked[4:] == [
        batched("count", long, timedelta(minutes=5)),
        batched("error-rate", long, timedelta(minutes=5)),
        batched("latency-p90", long, timedelta(minutes=5)),
        batched("latency-p99", long, timedelta(minutes=5)),
    ]
    assert all('=~"team-2"' in q and "[5m]" in q for q in client.asked[4:])
    assert all('=~"team-0|team-1"' in q and "[1m]" in q for q in client.asked[:4])
    assert all(s.verdict is GateVerdict.PASS for r in short + long for s in result.statuses[r.key])


def test_each_shift_takes_the_series_of_its_own_canary() -> None:
    """Same service name in two namespaces, and each stable subset, carry decoy values."""
    gate_list = gates({"name": "error-rate", "max": 1})
    first = shift(0, gate_list=gate_list, namespace="team-a")
    second = CheckRequest(
        key=("team-b", "shift-0"),
        gates=gate_list,
        canary=SubsetSelector(service="svc-0", namespace="team-b", version="v2"),
        stable=SubsetSelector(service="svc-0", namespace="team-b", version="v1"),
        window=WINDOW,
        min_requests=20,
        variables=ShiftVariables(namespace="team-b", virtual_service="svc-0"),
    )
    requests = [first, second]
    rates = {first.canary: 0.5, first.stable: 7.0, second.canary: 4.0, second.stable: 0.1}
    answers = {
        batched("count", requests): series({first.canary: 100, second.canary: 100}),
        batched("error-rate", requests): series(rates),
    }
    result, _ = run(requests, answers)
    [mine] = result.statuses[first.key]
    [theirs] = result.statuses[second.key]
    assert (mine.verdict, mine.value) == (GateVerdict.PASS, 0.5)
    assert (theirs.verdict, theirs.value) == (GateVerdict.FAIL, 4.0)


@pytest.mark.parametrize(
    ("canary", "verdict"), [(300.0, GateVerdict.PASS), (400.0, GateVerdict.FAIL)]
)
def test_a_relative_gate_reads_the_stable_value_from_the_same_query(
    canary: float, verdict: GateVerdict
) -> None:
    request = shift(0, gate_list=gates({"name": "latency-p99", "maxRatioToStable": 1.5}))
    answers = {
        batched("count", [request]): series({request.canary: 100}),
        batched("latency-p99", [request]): series({request.canary: canary, request.stable: 250}),
    }
    result, client = run([request], answers)
    [status] = result.statuses[request.key]
    assert (status.verdict, status.value, status.stable_value) == (verdict, canary, 250)
    assert result.queries == 2
    assert len(client.asked) == 2


def test_a_shift_below_min_requests_is_inconclusive_on_the_count_query() -> None:
    quiet, busy = shift(0), shift(1)
    requests = [quiet, busy]
    answers = healthy(requests)
    count = batched("count", requests)
    answers[count] = series({quiet.canary: 5.4, busy.canary: 120})
    result, _ = run(requests, answers)
    message = too_few_requests_message(5, "1m", 20)
    assert [(s.verdict, s.message, s.query) for s in result.statuses[quiet.key]] == [
        (GateVerdict.INCONCLUSIVE, message, count)
    ] * 3
    assert all(s.verdict is GateVerdict.PASS for s in result.statuses[busy.key])


@pytest.mark.parametrize("count", ["empty", "nan"])
def test_when_no_shift_has_enough_requests_only_the_count_is_queried(count: str) -> None:
    """An empty count, or a NaN one, is zero requests: no gate query is worth sending."""
    requests = [shift(0), shift(1)]
    answer = [] if count == "empty" else canaries(requests, math.nan)
    result, client = run(requests, {batched("count", requests): answer})
    assert client.asked == [batched("count", requests)]
    assert result.queries == 1
    message = too_few_requests_message(0, "1m", 20)
    for request in requests:
        assert {(s.verdict, s.message) for s in result.statuses[request.key]} == {
            (GateVerdict.INCONCLUSIVE, message)
        }


def test_a_canary_missing_from_a_gate_result_is_inconclusive_for_that_gate() -> None:
    present, absent = shift(0), shift(1)
    requests = [present, absent]
    answers = healthy(requests)
    answers[batched("latency-p99", requests)] = series({present.canary: 250})
    result, _ = run(requests, answers)
    assert verdicts(result.statuses[absent.key]) == [
        ("error-rate", GateVerdict.PASS),
        ("latency-p90", GateVerdict.PASS),
        ("latency-p99", GateVerdict.INCONCLUSIVE),
    ]
    assert "no data (empty result)" in result.statuses[absent.key][2].message
    assert result.statuses[present.key][2].verdict is GateVerdict.PASS


# Telemetry per subset: the request count and each gate's value (None: no series at all).
Telemetry = dict[SubsetSelector, dict[str, float | None]]
PARITY_GATES = gates(
    {"name": "error-rate", "max": 1, "maxOverStable": 0.5},
    {"name": "latency-p90", "maxRatioToStable": 1.2},
    {"name": "latency-p99", "max": 500, "criticalMax": 800},
)
# (canary, stable) values per shift: count, error-rate, latency-p90, latency-p99.
PARITY_CASES: list[tuple[tuple[float | None, ...], tuple[float | None, ...]]] = [
    ((120, 0.2, 150, 250), (900, 0.1, 140, 200)),  # every gate passes
    ((120, 3.2, 200, 900), (900, 0.1, 140, 200)),  # over max, over ratio, over criticalMax
    ((120, math.nan, 150, None), (900, 0.1, math.nan, 200)),  # no data; stable NaN
    ((120, 0.4, 150, 250), (900, None, None, 200)),  # stable missing for relative gates
    ((7, 0.1, 100, 100), (900, 0.1, 100, 100)),  # below minRequests
    ((None, 0.1, 100, 100), (900, 0.1, 100, 100)),  # no count series
    ((60, 0.4, 1e-12, 250), (900, 0.0, 0.0, 200)),  # zero stable: ratio floor
]
NAMES = ["count", "error-rate", "latency-p90", "latency-p99"]


def telemetry(requests: Sequence[CheckRequest]) -> Telemetry:
    model: Telemetry = {}
    for request, (canary, stable) in zip(requests, PARITY_CASES, strict=True):
        model[request.canary] = dict(zip(NAMES, canary, strict=True))
        model[request.stable] = dict(zip(NAMES, stable, strict=True))
    return model


def per_shift_answers(model: Telemetry) -> dict[str, Answer]:
    answers: dict[str, Answer] = {}
    for subset, values in model.items():
        for name, value in values.items():
            one_query = shift_query(name, subset)
            answers[one_query] = [] if value is None else one(value)
    return answers


def shift_query(name: str, subset: SubsetSelector) -> str:
    if name == "count":
        return render_request_count(subset, WINDOW)
    return render_builtin(name, subset, WINDOW)


def batch_answers(model: Telemetry, requests: Sequence[CheckRequest]) -> dict[str, Answer]:
    return {
        batched(name, requests): series(
            {s: value for s, v in model.items() if (value := v[name]) is not None}
        )
        for name in NAMES
    }


def comparable(status: GateStatus) -> dict[str, Any]:
    """Everything but the query text (which differs by design); NaN made comparable.

    With no canary value the per-shift pass never asks for the stable one, while the batch has
    it anyway: a stable value beside a canary without data is left out of the comparison.
    """
    dumped = status.model_dump(exclude={"query"})
    if dumped["value"] is None:
        dumped["stable_value"] = None
    return {k: "NaN" if isinstance(v, float) and math.isnan(v) else v for k, v in dumped.items()}


def test_batched_verdicts_equal_the_per_shift_verdicts_for_the_same_numbers() -> None:
    requests = [shift(i, gate_list=PARITY_GATES) for i in range(len(PARITY_CASES))]
    model = telemetry(requests)
    result, _ = run(requests, batch_answers(model, requests))
    per_shift = FakeClient(per_shift_answers(model))
    for request in requests:
        expected = evaluate_gates(
            request.gates,
            canary=request.canary,
            stable=request.stable,
            window=request.window,
            min_requests=request.min_requests,
            client=per_shift,
            now=NOW,
            variables=request.variables,
        )
        assert [comparable(s) for s in result.statuses[request.key]] == [
            comparable(s) for s in expected
        ]
    seen = {s.verdict for r in requests for s in result.statuses[r.key]}
    assert seen == set(GateVerdict) - {GateVerdict.ERROR}
    assert any(s.critical for s in result.statuses[requests[1].key])


@pytest.mark.parametrize(("step", "final"), [(0, False), (1, False), (2, False), (3, True)])
def test_request_for_marks_the_last_step_whose_pass_would_promote(step: int, final: bool) -> None:
    """The sequential judge asks more of a pass that promotes: the request says when that is."""
    spec = TrafficShiftSpec.model_validate(
        {"virtualService": "reviews", "stable": "v1", "canary": "v3", "steps": [10, 50, 100]}
    )
    status = None if step == 0 else TrafficShiftStatus(current_step=step, canary_weight=10)
    request = request_for(
        "k",
        spec,
        status,
        [],
        canary=SubsetSelector("reviews", "default", "v3"),
        stable=SubsetSelector("reviews", "default", "v1"),
        variables=ShiftVariables("default", "reviews"),
    )
    assert request.final_step is final
    assert request.step == step
