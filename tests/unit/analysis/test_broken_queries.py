"""A custom gate's own PromQL that is broken: found by the pre-flight before any traffic moves,
and a failed check (not an outage) when it breaks mid-shift."""

from __future__ import annotations

from dataclasses import replace

from controller.analysis.batched import CheckRequest
from controller.analysis.client import FailureKind, PrometheusError, Sample
from controller.analysis.preflight import preflight, preflight_message
from controller.analysis.readings import judge_member, series_of
from controller.api.status import GateVerdict
from tests.unit.analysis.batch_builders import BAD, DOWN, NOW, SLOW, gates, shift
from tests.unit.analysis.fakes import FakeClient, one

CHECKOUT = {
    "name": "checkout",
    "errorQuery": 'sum(checkout_failed_total{version="{{ version }}"})',
    "totalQuery": 'sum(checkout_total{version="{{ version }}"})',
    "max": 1,
}
ERRORS_V1 = 'sum(checkout_failed_total{version="v1"})'
TOTAL_V1 = 'sum(checkout_total{version="v1"})'
ERRORS_V2 = 'sum(checkout_failed_total{version="v2"})'
TOTAL_V2 = 'sum(checkout_total{version="v2"})'
CPU = {"name": "cpu", "query": 'max(cpu{version="{{ version }}",ns="{{ namespace }}"})', "max": 1}
CPU_V1 = 'max(cpu{version="v1",ns="team-1"})'
TWO = [Sample(0.1, {"pod": "a"}), Sample(0.2, {"pod": "b"})]


def request(*specs: dict[str, object]) -> CheckRequest:
    return shift(1, gate_list=gates(*specs))


# -- pre-flight -------------------------------------------------------------------------------


def test_preflight_runs_each_custom_query_once_rendered_for_the_stable() -> None:
    client = FakeClient({CPU_V1: one(0.2), ERRORS_V1: one(3), TOTAL_V1: one(900)})
    assert preflight(request({"name": "error-rate", "max": 1}, CPU, CHECKOUT), client) == []
    # The builtin gate's PromQL is ours: not queried. Empty results are fine too.
    assert client.asked == [CPU_V1, ERRORS_V1, TOTAL_V1]
    assert preflight(request(CPU), FakeClient({CPU_V1: []})) == []


def test_preflight_names_a_rejected_query_and_a_multi_series_one() -> None:
    client = FakeClient({CPU_V1: BAD, ERRORS_V1: one(3), TOTAL_V1: TWO})
    problems = preflight(request(CPU, CHECKOUT), client)
    assert problems == [
        f"gate 'cpu' query: {BAD.message} (query: {CPU_V1})",
        'gate \'checkout\' totalQuery: the query returned 2 series ({pod="a"}, {pod="b"}) but a '
        f"gate needs one number: aggregate it, e.g. with sum(...) or max(...) (query: {TOTAL_V1})",
    ]
    message = preflight_message(problems)
    assert message.startswith("a gate's query is broken, so no traffic was moved to the canary")
    assert "gate 'cpu'" in message
    assert "gate 'checkout'" in message
    assert "Fix the gate's PromQL" in message


def test_preflight_proves_nothing_while_prometheus_is_down_or_slow() -> None:
    for failure in (DOWN, SLOW, PrometheusError(FailureKind.SERVER, "HTTP 503")):
        client = FakeClient({CPU_V1: failure})
        assert preflight(request(CPU, CHECKOUT), client) == []
        assert client.asked == [CPU_V1]  # stops at the first unanswered query


def test_preflight_of_a_query_returning_a_string_or_range_is_a_problem() -> None:
    ranged = PrometheusError(FailureKind.BAD_QUERY, "the query returns a range vector")
    assert preflight(request(CPU), FakeClient({CPU_V1: ranged})) == [
        f"gate 'cpu' query: the query returns a range vector (query: {CPU_V1})"
    ]


# -- mid-shift: count gates -------------------------------------------------------------------


def judged(member: CheckRequest, answers: dict[str, object]) -> dict[str, GateVerdict]:
    client = FakeClient(answers)  # type: ignore[arg-type]
    readings = {series_of(member.canary): {"requests": 500.0}, series_of(member.stable): {}}
    result = judge_member(
        member,
        gates=member.gates,
        readings=readings,
        sent={},
        query=client.instant_query,
        now=NOW,
    )
    return {name: status.verdict for name, status in result.statuses.items()}


def test_a_rejected_count_query_fails_the_gate_an_outage_errors_it() -> None:
    member = replace(request(CHECKOUT), step=1, step_started_at=NOW)
    assert judged(member, {ERRORS_V2: BAD}) == {"checkout": GateVerdict.FAIL}
    assert judged(member, {ERRORS_V2: one(1), TOTAL_V2: TWO}) == {"checkout": GateVerdict.FAIL}
    assert judged(member, {ERRORS_V2: DOWN}) == {"checkout": GateVerdict.ERROR}
    assert judged(member, {ERRORS_V2: SLOW}) == {"checkout": GateVerdict.ERROR}
