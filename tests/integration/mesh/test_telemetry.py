"""The mesh's /metrics carry Istio's standard metric names, labels, values and buckets."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from controller.sandbox.mesh import Mesh, StaticRouteSource
from controller.sandbox.mesh.telemetry import DURATION_BUCKETS_MS, LABEL_NAMES, envoy_bound
from tests.integration.mesh.conftest import destination_rule, no_sleep, virtual_service

# The label set of Istio's standard HTTP metrics (istio.io "Istio Standard Metrics").
ISTIO_LABELS = {
    "reporter", "source_workload", "source_workload_namespace", "source_principal",
    "source_app", "source_version", "source_canonical_service", "source_canonical_revision",
    "source_cluster", "destination_workload", "destination_workload_namespace",
    "destination_principal", "destination_app", "destination_version", "destination_service",
    "destination_service_name", "destination_service_namespace",
    "destination_canonical_service", "destination_canonical_revision", "destination_cluster",
    "request_protocol", "response_code", "grpc_response_status", "response_flags",
    "connection_security_policy",
}  # fmt: skip


def scraped(mesh: Mesh) -> list[Sample]:
    text = generate_latest(mesh.registry).decode()
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def v3_mesh_after(requests: int, error_rate: float = 0.0) -> Mesh:
    mesh = Mesh(
        StaticRouteSource(virtual_service({"v3": 100}), destination_rule()), seed=3, sleep=no_sleep
    )
    mesh.faults.apply({"version": "v3", "error_rate": error_rate})
    for _ in range(requests):
        mesh.product_page()
    return mesh


def test_label_names_are_exactly_istios() -> None:
    assert set(LABEL_NAMES) == ISTIO_LABELS
    samples = [s for s in scraped(v3_mesh_after(3)) if s.name == "istio_requests_total"]
    assert samples
    assert all(set(s.labels) == ISTIO_LABELS for s in samples)


def test_destination_reporter_series_carries_istio_values() -> None:
    samples = scraped(v3_mesh_after(5))
    destination = [
        s
        for s in samples
        if s.name == "istio_requests_total" and s.labels["reporter"] == "destination"
    ]
    assert len(destination) == 1
    assert destination[0].value == 5
    assert destination[0].labels == {
        "reporter": "destination",
        "source_workload": "productpage-v1",
        "source_workload_namespace": "bookinfo",
        "source_principal": "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage",
        "source_app": "productpage",
        "source_version": "v1",
        "source_canonical_service": "productpage",
        "source_canonical_revision": "v1",
        "source_cluster": "Kubernetes",
        "destination_workload": "reviews-v3",
        "destination_workload_namespace": "bookinfo",
        "destination_principal": "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews",
        "destination_app": "reviews",
        "destination_version": "v3",
        "destination_service": "reviews.bookinfo.svc.cluster.local",
        "destination_service_name": "reviews",
        "destination_service_namespace": "bookinfo",
        "destination_canonical_service": "reviews",
        "destination_canonical_revision": "v3",
        "destination_cluster": "Kubernetes",
        "request_protocol": "http",
        "response_code": "200",
        "grpc_response_status": "",
        "response_flags": "-",
        "connection_security_policy": "mutual_tls",
    }


def test_source_reporter_is_emitted_with_unknown_security_policy() -> None:
    samples = scraped(v3_mesh_after(4))
    source = [
        s for s in samples if s.name == "istio_requests_total" and s.labels["reporter"] == "source"
    ]
    assert [s.value for s in source] == [4]
    assert source[0].labels["connection_security_policy"] == "unknown"


def test_errors_are_counted_under_their_response_code() -> None:
    samples = scraped(v3_mesh_after(400, error_rate=0.5))
    by_code = {
        s.labels["response_code"]: s.value
        for s in samples
        if s.name == "istio_requests_total" and s.labels["reporter"] == "destination"
    }
    assert set(by_code) == {"200", "503"}
    assert by_code["200"] + by_code["503"] == 400


def test_duration_histogram_uses_envoy_default_buckets_printed_as_envoy_does() -> None:
    assert DURATION_BUCKETS_MS == (
        0.5,
        1,
        5,
        10,
        25,
        50,
        100,
        250,
        500,
        1000,
        2500,
        5000,
        10000,
        30000,
        60000,
        300000,
        600000,
        1800000,
        3600000,
    )
    text = generate_latest(v3_mesh_after(2).registry).decode()
    bounds = [
        line.split('le="')[1].split('"')[0]
        for line in text.splitlines()
        if line.startswith("istio_request_duration_milliseconds_bucket")
        and 'reporter="destination"' in line
    ]
    assert bounds == [envoy_bound(b) for b in DURATION_BUCKETS_MS] + ["+Inf"]
    assert bounds[:3] == ["0.5", "1", "5"]
    assert bounds[-3:] == ["1800000", "3600000", "+Inf"]
    assert "_created" not in text


def test_histogram_counts_match_requests_and_are_cumulative() -> None:
    samples = scraped(v3_mesh_after(10))
    buckets = [
        s.value
        for s in samples
        if s.name == "istio_request_duration_milliseconds_bucket"
        and s.labels["reporter"] == "destination"
    ]
    assert buckets == sorted(buckets)
    assert buckets[-1] == 10


def test_unrouted_requests_are_reported_by_the_source_sidecar_with_their_flag() -> None:
    mesh = Mesh(StaticRouteSource(virtual_service({"v7": 100}), destination_rule()), sleep=no_sleep)
    mesh.product_page()
    requests = [s for s in scraped(mesh) if s.name == "istio_requests_total"]
    assert len(requests) == 1
    labels = requests[0].labels
    assert (labels["reporter"], labels["response_code"], labels["response_flags"]) == (
        "source",
        "503",
        "NC",
    )
    assert labels["destination_workload"] == "unknown"
