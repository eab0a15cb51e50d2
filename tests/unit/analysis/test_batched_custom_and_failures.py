"""Batched gate rounds: custom gates (queried per shift) and Prometheus failures (what turns
Error, and what is still sent)."""

from __future__ import annotations

from controller.api.status import GateVerdict
from tests.unit.analysis.batch_builders import (
    BAD,
    DOWN,
    SATURATION,
    SLOW,
    THREE,
    batched,
    canaries,
    custom_query,
    gates,
    healthy,
    run,
    shift,
    verdicts,
)
from tests.unit.analysis.fakes import Answer, one


def test_a_failed_count_query_makes_every_gate_of_every_shift_error() -> None:
    requests = [shift(0), shift(1)]
    result, client = run(requests, {batched("count", requests): SLOW})
    assert client.asked == [batched("count", requests)]
    assert result.queries == 1
    for request in requests:
        assert [(s.verdict, s.message, s.query) for s in result.statuses[request.key]] == [
            (GateVerdict.ERROR, f"{g.name}: {SLOW.message}", batched("count", requests))
            for g in THREE
        ]


def test_one_failing_gate_query_errors_that_gate_for_every_shift_and_judges_the_rest() -> None:
    requests = [shift(0), shift(1)]
    answers = healthy(requests)
    answers[batched("latency-p90", requests)] = BAD
    result, client = run(requests, answers)
    assert result.queries == 4
    assert len(client.asked) == 4
    for request in requests:
        statuses = result.statuses[request.key]
        assert verdicts(statuses) == [
            ("error-rate", GateVerdict.PASS),
            ("latency-p90", GateVerdict.ERROR),
            ("latency-p99", GateVerdict.PASS),
        ]
        assert statuses[1].message == f"latency-p90: {BAD.message}"
        assert statuses[1].query == batched("latency-p90", requests)


def test_once_prometheus_is_unreachable_the_remaining_queries_are_not_sent() -> None:
    custom = gates({"name": "saturation", "query": SATURATION, "max": 0.9})
    requests = [shift(0, gate_list=[*THREE, *custom]), shift(1, gate_list=[*THREE, *custom])]
    answers = healthy(requests)
    answers[batched("error-rate", requests)] = DOWN
    result, client = run(requests, answers)
    assert client.asked == [batched("count", requests), batched("error-rate", requests)]
    assert result.queries == 2
    for request in requests:
        statuses = result.statuses[request.key]
        assert {s.verdict for s in statuses} == {GateVerdict.ERROR}
        assert all(s.message == f"{s.name}: {DOWN.message}" for s in statuses)


def test_an_unreachable_count_query_sends_nothing_else() -> None:
    requests = [shift(0)]
    result, client = run(requests, {batched("count", requests): DOWN})
    assert client.asked == [batched("count", requests)]
    assert result.queries == 1
    assert {s.verdict for s in result.statuses[requests[0].key]} == {GateVerdict.ERROR}


def test_an_unreachable_custom_query_stops_the_other_shifts_custom_queries() -> None:
    """The outage of one shift's custom query is the group's: nothing more is sent."""
    custom = gates({"name": "saturation", "query": SATURATION, "max": 0.9})
    requests = [shift(0, gate_list=custom), shift(1, gate_list=custom)]
    answers: dict[str, Answer] = {
        batched("count", requests): canaries(requests, 100),
        custom_query(requests[0]): DOWN,
        custom_query(requests[1]): one(0.5),
    }
    result, client = run(requests, answers)
    assert client.asked == [batched("count", requests), custom_query(requests[0])]
    assert result.queries == 2
    for request in requests:
        assert [(s.verdict, s.message) for s in result.statuses[request.key]] == [
            (GateVerdict.ERROR, f"saturation: {DOWN.message}")
        ]


def test_custom_gates_are_queried_per_shift_without_a_count_query_of_their_own() -> None:
    custom = gates({"name": "saturation", "query": SATURATION, "max": 0.9})
    gate_list = [*custom, *gates({"name": "error-rate", "max": 1})]
    requests = [shift(0, gate_list=gate_list), shift(1, gate_list=gate_list)]
    answers: dict[str, Answer] = {
        batched("count", requests): canaries(requests, 100),
        batched("error-rate", requests): canaries(requests, 0.1),
        custom_query(requests[0]): one(0.5),
        custom_query(requests[1]): one(0.95),
    }
    result, client = run(requests, answers)
    assert client.asked == [
        batched("count", requests),
        batched("error-rate", requests),
        custom_query(requests[0]),
        custom_query(requests[1]),
    ]
    assert result.queries == 4
    first, second = (result.statuses[r.key] for r in requests)
    assert verdicts(first) == [("saturation", GateVerdict.PASS), ("error-rate", GateVerdict.PASS)]
    assert verdicts(second) == [("saturation", GateVerdict.FAIL), ("error-rate", GateVerdict.PASS)]
    assert first[0].query == custom_query(requests[0])
    assert first[1].query == batched("error-rate", requests)
