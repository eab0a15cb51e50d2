"""Gates judged on a real Prometheus scraping Istio-shaped telemetry (v1 healthy, v3 20% 503)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controller.analysis.batched import CheckRequest
from controller.analysis.client import FailureKind, PrometheusError, QueryClient
from controller.analysis.evaluate import evaluate_gates
from controller.analysis.preflight import preflight
from controller.analysis.prometheus import PrometheusQueryClient
from controller.analysis.selectors import SubsetSelector
from controller.analysis.templates import ShiftVariables
from controller.api.gates import Gate
from controller.api.status import GateStatus, GateVerdict
from tests.integration.analysis.mesh import selector
from tests.integration.analysis.promserver import PrometheusServer

pytestmark = pytest.mark.integration

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(seconds=30)
V1, V2, V3, V9 = selector("v1"), selector("v2"), selector("v3"), selector("v9")
OUTAGE_TIMEOUT_SECONDS = 1.0


def evaluate(
    client: QueryClient,
    gates: list[dict[str, Any]],
    *,
    canary: SubsetSelector = V3,
    stable: SubsetSelector = V1,
    min_requests: int = 20,
) -> list[GateStatus]:
    return evaluate_gates(
        [Gate.model_validate(gate) for gate in gates],
        canary=canary,
        stable=stable,
        window=WINDOW,
        min_requests=min_requests,
        client=client,
        now=NOW,
        variables=ShiftVariables(namespace="bookinfo", virtual_service="reviews"),
    )


def only(statuses: list[GateStatus]) -> GateStatus:
    assert len(statuses) == 1
    return statuses[0]


def test_v3_error_rate_is_about_20_percent_and_fails_max_1(client: PrometheusQueryClient) -> None:
    status = only(evaluate(client, [{"name": "error-rate", "max": 1}]))
    assert status.verdict is GateVerdict.FAIL
    assert status.value == pytest.approx(20, abs=1.5)
    assert status.message.startswith("error-rate ")
    assert status.message.endswith(" > 1 (max)")


def test_v1_with_no_5xx_has_error_rate_0_and_passes(client: PrometheusQueryClient) -> None:
    status = only(evaluate(client, [{"name": "error-rate", "max": 1}], canary=V1, stable=V3))
    assert status.verdict is GateVerdict.PASS
    assert status.value == 0


def test_latency_quantiles_fall_in_the_bucket_of_the_observed_durations(
    client: PrometheusQueryClient,
) -> None:
    gates = [{"name": f"latency-p{q}", "max": 500} for q in (50, 90, 99)]
    v3 = evaluate(client, gates)
    v1 = evaluate(client, gates, canary=V1, stable=V3)
    assert [s.verdict for s in v3 + v1] == [GateVerdict.PASS] * 6
    assert all(s.value is not None and 50 < s.value <= 100 for s in v3), v3  # 80 ms observed
    assert all(s.value is not None and 10 < s.value <= 25 for s in v1), v1  # 20 ms observed
    assert v3[2].value == pytest.approx(99.5, abs=0.5)  # p99 interpolated in (50, 100]


def test_relative_gates_compare_the_canary_with_the_stable_subset(
    client: PrometheusQueryClient,
) -> None:
    ratio, offset = evaluate(
        client,
        [
            {"name": "latency-p99", "maxRatioToStable": 1.2},
            {"name": "error-rate", "maxOverStable": 1},
        ],
    )
    assert (ratio.verdict, offset.verdict) == (GateVerdict.FAIL, GateVerdict.FAIL)
    assert ratio.stable_value is not None
    assert 10 < ratio.stable_value <= 25
    assert offset.stable_value == 0
    assert "(maxRatioToStable)" in ratio.message
    assert "(maxOverStable)" in offset.message


def test_a_version_without_any_series_is_inconclusive_below_min_requests(
    client: PrometheusQueryClient,
) -> None:
    status = only(evaluate(client, [{"name": "error-rate", "max": 1}], canary=V9))
    assert status.verdict is GateVerdict.INCONCLUSIVE
    assert status.message.startswith("only 0 canary requests in 30s, need 20")


def test_an_idle_version_gives_nan_and_is_inconclusive_even_with_min_requests_0(
    client: PrometheusQueryClient,
) -> None:
    gates = [{"name": "error-rate", "max": 1}, {"name": "latency-p99", "max": 500}]
    statuses = evaluate(client, gates, canary=V2, min_requests=0)
    assert [s.verdict for s in statuses] == [GateVerdict.INCONCLUSIVE] * 2
    assert all("no data" in s.message for s in statuses)


def test_a_custom_gate_runs_its_rendered_template(client: PrometheusQueryClient) -> None:
    query = (
        'sum(rate(istio_requests_total{destination_version="{{ version }}",'
        'destination_workload_namespace="{{ namespace }}",response_code="503"}[{{ window }}]))'
    )
    status = only(evaluate(client, [{"name": "errors-per-second", "query": query, "min": 1}]))
    assert status.verdict is GateVerdict.PASS  # v3 serves ~50 503s per second
    assert status.query == (
        'sum(rate(istio_requests_total{destination_version="v3",'
        'destination_workload_namespace="bookinfo",response_code="503"}[30s]))'
    )


def test_a_syntactically_bad_custom_query_fails_with_prometheus_message(
    client: PrometheusQueryClient,
) -> None:
    bad = "sum(rate(istio_requests_total[{{ window }}]"
    statuses = evaluate(
        client, [{"name": "broken", "query": bad, "max": 1}, {"name": "error-rate", "max": 1}]
    )
    broken, error_rate = statuses
    assert broken.verdict is GateVerdict.FAIL  # it fails the same way on every check
    assert "rejected the query (HTTP 400 bad_data)" in broken.message
    assert "parse error" in broken.message
    assert error_rate.verdict is GateVerdict.FAIL  # the other gate is still judged


def test_the_preflight_finds_a_syntax_error_and_an_unaggregated_query(
    client: PrometheusQueryClient,
) -> None:
    # Every version and response code of the namespace: several series.
    unaggregated = 'rate(istio_requests_total{reporter="destination"}[{{ window }}])'
    fine = 'sum(rate(istio_requests_total{destination_version="{{ version }}"}[{{ window }}]))'
    gates = [
        Gate(name="typo", query="sum(rate(istio_requests_total[{{ window }}]", max=1),
        Gate(name="per-code", query=unaggregated, max=1),
        Gate(name="fine", query=fine, max=1),
        Gate(name="error-rate", max=1),
    ]
    request = CheckRequest(
        key=("bookinfo", "reviews"),
        gates=gates,
        canary=V3,
        stable=V1,
        window=WINDOW,
        min_requests=20,
        variables=ShiftVariables(namespace="bookinfo", virtual_service="reviews"),
    )
    problems = preflight(request, client)
    assert len(problems) == 2
    assert problems[0].startswith("gate 'typo' query: ")
    assert "HTTP 400 bad_data" in problems[0]
    assert problems[1].startswith("gate 'per-code' query: the query returned ")
    assert "aggregate it" in problems[1]


@pytest.mark.parametrize(
    ("promql", "expected"),
    [("vector(1.5)", 1.5), ("1 + 1", 2.0), ("vector(+Inf)", math.inf), ("vector(-Inf)", -math.inf)],
)
def test_the_client_converts_vectors_and_scalars_to_floats(
    client: PrometheusQueryClient, promql: str, expected: float
) -> None:
    assert [s.value for s in client.instant_query(promql)] == [expected]


def test_the_client_keeps_nan(client: PrometheusQueryClient) -> None:
    (sample,) = client.instant_query("NaN")
    assert math.isnan(sample.value)


def test_the_client_returns_series_labels(client: PrometheusQueryClient) -> None:
    samples = client.instant_query(
        'sum by (destination_version) (istio_requests_total{destination_version=~"v1|v3"})'
    )
    assert sorted(s.labels["destination_version"] for s in samples) == ["v1", "v3"]


def test_a_range_vector_result_is_refused_as_not_one_number(
    client: PrometheusQueryClient,
) -> None:
    with pytest.raises(PrometheusError, match="range vector") as caught:
        client.instant_query('istio_requests_total{destination_version="v1"}[5s]')
    assert caught.value.kind is FailureKind.BAD_QUERY


def test_a_wrong_path_says_to_check_the_url(prometheus: PrometheusServer) -> None:
    wrong = PrometheusQueryClient(f"{prometheus.url}/not-prometheus", timeout_seconds=2)
    with wrong, pytest.raises(PrometheusError, match="HTTP 404") as caught:
        wrong.instant_query("up")
    assert "check that the URL points at Prometheus" in caught.value.message


def test_a_stopped_prometheus_errors_every_gate_fast_without_retries(
    spare_prometheus: Callable[[], PrometheusServer],
) -> None:
    server = spare_prometheus()
    server.stop()
    with PrometheusQueryClient(server.url, timeout_seconds=OUTAGE_TIMEOUT_SECONDS) as dead:
        started = time.monotonic()
        statuses = evaluate(
            dead, [{"name": "error-rate", "max": 1}, {"name": "latency-p99", "max": 500}]
        )
        elapsed = time.monotonic() - started
    assert elapsed < 2 * OUTAGE_TIMEOUT_SECONDS
    assert [s.verdict for s in statuses] == [GateVerdict.ERROR] * 2
    assert f"Prometheus at {server.url} is unreachable" in statuses[0].message
    assert "Connection refused" in statuses[0].message


def test_a_frozen_prometheus_costs_one_timeout_not_retries(
    spare_prometheus: Callable[[], PrometheusServer],
) -> None:
    server = spare_prometheus()
    server.freeze()
    with PrometheusQueryClient(server.url, timeout_seconds=OUTAGE_TIMEOUT_SECONDS) as hung:
        started = time.monotonic()
        statuses = evaluate(
            hung, [{"name": "error-rate", "max": 1}, {"name": "latency-p99", "max": 500}]
        )
        elapsed = time.monotonic() - started
    assert OUTAGE_TIMEOUT_SECONDS <= elapsed < 2 * OUTAGE_TIMEOUT_SECONDS
    assert [s.verdict for s in statuses] == [GateVerdict.ERROR] * 2
    assert f"did not answer within {OUTAGE_TIMEOUT_SECONDS:g}s" in statuses[0].message


def test_a_sub_second_timeout_is_accepted_by_prometheus(prometheus: PrometheusServer) -> None:
    """The server-side timeout is sent in plain seconds: Prometheus rejects "0.5s"."""
    with PrometheusQueryClient(prometheus.url, timeout_seconds=0.5) as quick:
        assert [s.value for s in quick.instant_query("vector(3)")] == [3.0]


def test_a_url_that_is_not_prometheus_says_so(exporter_target: str) -> None:
    """The exporter answers 200 with metrics text at any path: not a Prometheus API answer."""
    wrong = PrometheusQueryClient(f"http://{exporter_target}", timeout_seconds=2)
    with wrong, pytest.raises(PrometheusError, match="not a Prometheus API response") as caught:
        wrong.instant_query("up")
    assert caught.value.kind is FailureKind.SERVER
