"""The synthetic exporter serves Istio's metrics with Istio's labels and buckets, its counters
grow with time, and the controller's own builtin gate queries over a real Prometheus read back
the rate, error rate and latency quantiles it was configured with."""

from __future__ import annotations

from datetime import timedelta

import requests
from prometheus_client.parser import text_string_to_metric_families

from controller.analysis.selectors import SubsetSelector
from controller.analysis.templates import render_builtin, render_request_count
from controller.sandbox.exporter import ScrapeRenderer
from controller.sandbox.mesh.telemetry import DURATION_BUCKETS_MS, envoy_bound
from controller.sandbox.promstack import PrometheusProcess, PythonModuleProcess
from tests.integration.promstack.helpers import instant_query, poll_until

from .conftest import ERROR_PERCENT, RPS, SERVICES

ISTIO_LABELS = {
    "reporter",
    "source_workload",
    "source_workload_namespace",
    "destination_service",
    "destination_service_name",
    "destination_service_namespace",
    "destination_workload",
    "destination_workload_namespace",
    "destination_version",
    "destination_app",
    "request_protocol",
    "response_code",
    "response_flags",
    "connection_security_policy",
}
WINDOW = timedelta(seconds=5)
CANARY = SubsetSelector(service="svc-0001", namespace="scale-1", version="v2")


def _scrape(exporter: PythonModuleProcess) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = requests.get(f"{exporter.url}/metrics", timeout=5)
    response.raise_for_status()
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def test_scrape_has_istio_series_for_each_service_version_and_code(
    exporter: PythonModuleProcess,
) -> None:
    samples = _scrape(exporter)
    requests_total = samples["istio_requests_total"]
    assert len(requests_total) == SERVICES * 2 * 2  # v1/v2 x 200/503
    assert all(set(labels) >= ISTIO_LABELS for labels, _ in requests_total)
    assert all(labels["reporter"] == "destination" for labels, _ in requests_total)
    placement = {
        (labels["destination_service_name"], labels["destination_workload_namespace"])
        for labels, _ in requests_total
    }
    assert placement == {("svc-0000", "scale-0"), ("svc-0001", "scale-1"), ("svc-0002", "scale-0")}
    one_series = [
        labels["le"]
        for labels, _ in samples["istio_request_duration_milliseconds_bucket"]
        if labels["destination_workload"] == "svc-0000-v2" and labels["response_code"] == "200"
    ]
    assert one_series == [envoy_bound(b) for b in DURATION_BUCKETS_MS] + ["+Inf"]


def test_counters_grow_with_time_and_never_go_down(exporter: PythonModuleProcess) -> None:
    def totals() -> dict[tuple[tuple[str, str], ...], float]:
        return {
            tuple(sorted(labels.items())): value
            for name in ("istio_requests_total", "istio_request_duration_milliseconds_bucket")
            for labels, value in _scrape(exporter)[name]
        }

    def grown() -> dict[tuple[tuple[str, str], ...], float] | None:
        later = totals()
        return later if sum(later.values()) > sum(first.values()) else None

    first = totals()
    second = poll_until(grown, timeout=5, what="the counters to grow")
    assert all(second[key] >= value for key, value in first.items())


def _value(prometheus: PrometheusProcess, promql: str) -> float:
    """The one number `promql` evaluates to now."""
    result = instant_query(prometheus.url, promql)
    assert len(result) == 1, f"{promql} gave {result}, not one sample"
    return float(result[0]["value"][1])


def _expected_quantile(renderer: ScrapeRenderer, quantile: float) -> float:
    """histogram_quantile's linear interpolation over the model's own bucket shares."""
    median = renderer.medians_ms[CANARY.namespace, CANARY.service, CANARY.version]
    shares = renderer.model.bucket_fractions(median)
    lower_bound, lower_share = 0.0, 0.0
    for bound, share in zip(DURATION_BUCKETS_MS, shares, strict=True):
        if share >= quantile:
            return lower_bound + (bound - lower_bound) * (quantile - lower_share) / (
                share - lower_share
            )
        lower_bound, lower_share = bound, share
    raise AssertionError(f"quantile {quantile} lies above every bucket")


def test_builtin_gate_queries_read_back_the_configured_traffic(
    prometheus: PrometheusProcess, expected: ScrapeRenderer
) -> None:
    """Request count, error rate and p50/p90/p99 of one canary, with the gates' exact PromQL."""
    # rate() underestimates while a series is younger than its window: wait for a full one.
    history = f"min(count_over_time(istio_requests_total{{{CANARY.matchers()}}}[6s]))"
    poll_until(
        lambda: True if instant_query(prometheus.url, history + " >= 6") else None,
        timeout=20,
        what="Prometheus to hold more than a window of the exporter's samples",
    )
    requests_in_window = _value(prometheus, render_request_count(CANARY, WINDOW))
    assert requests_in_window > 0.8 * RPS * 5
    rate = _value(prometheus, f"sum(rate(istio_requests_total{{{CANARY.matchers()}}}[5s]))")
    assert abs(rate - RPS) < 0.1 * RPS

    error_rate = _value(prometheus, render_builtin("error-rate", CANARY, WINDOW))
    assert abs(error_rate - ERROR_PERCENT) < 1.0

    for gate, quantile in (("latency-p50", 0.5), ("latency-p90", 0.9), ("latency-p99", 0.99)):
        value = _value(prometheus, render_builtin(gate, CANARY, WINDOW))
        wanted = _expected_quantile(expected, quantile)
        assert abs(value - wanted) < 0.1 * wanted, (gate, value, wanted)
    p50 = _value(prometheus, render_builtin("latency-p50", CANARY, WINDOW))
    p99 = _value(prometheus, render_builtin("latency-p99", CANARY, WINDOW))
    assert 10 < p50 < 30
    assert p99 < 200


def test_a_gate_selector_picks_one_service_and_version(prometheus: PrometheusProcess) -> None:
    selected = instant_query(prometheus.url, f"istio_requests_total{{{CANARY.matchers()}}}")
    assert {item["metric"]["destination_workload"] for item in selected} == {"svc-0001-v2"}
    assert {item["metric"]["response_code"] for item in selected} == {"200", "503"}
