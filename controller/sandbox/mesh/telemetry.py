"""Istio's standard request metrics, as a sidecar would export them, for the sandbox mesh.

Owns `istio_requests_total` (counter) and `istio_request_duration_milliseconds` (histogram) with
Istio's label names and values, so a PromQL query written against the sandbox runs unchanged on a
real Istio. Buckets are Envoy's defaults and `le` is printed the way Envoy prints it ("1", not
"1.0"; "1800000", not "1.8e+06"), hence a custom collector rather than prometheus_client's
Histogram; there are no `_created` series, as with Envoy.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable
from dataclasses import dataclass, fields

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

# Envoy's default histogram bounds, which Istio's duration histogram uses unless overridden.
DURATION_BUCKETS_MS: tuple[float, ...] = (
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
    300000, 600000, 1800000, 3600000,
)  # fmt: skip

CLUSTER_NAME = "Kubernetes"  # Istio's value when global.multiCluster.clusterName is unset
TRUST_DOMAIN = "cluster.local"


@dataclass(frozen=True)
class Peer:
    """One side of a request as Istio's metadata exchange describes it."""

    workload: str
    namespace: str
    app: str
    version: str
    service_account: str

    @property
    def principal(self) -> str:
        return f"spiffe://{TRUST_DOMAIN}/ns/{self.namespace}/sa/{self.service_account}"


@dataclass(frozen=True)
class IstioLabels:
    """The label set of Istio's standard HTTP metrics, in Istio's names."""

    reporter: str
    source_workload: str
    source_workload_namespace: str
    source_principal: str
    source_app: str
    source_version: str
    source_canonical_service: str
    source_canonical_revision: str
    source_cluster: str
    destination_workload: str
    destination_workload_namespace: str
    destination_principal: str
    destination_app: str
    destination_version: str
    destination_service: str
    destination_service_name: str
    destination_service_namespace: str
    destination_canonical_service: str
    destination_canonical_revision: str
    destination_cluster: str
    request_protocol: str
    response_code: str
    grpc_response_status: str
    response_flags: str
    connection_security_policy: str

    def values(self) -> tuple[str, ...]:
        return tuple(getattr(self, name) for name in LABEL_NAMES)


LABEL_NAMES: tuple[str, ...] = tuple(f.name for f in fields(IstioLabels))


def request_labels(
    *,
    reporter: str,
    source: Peer,
    destination: Peer | None,
    service: str,
    service_namespace: str,
    response_code: int,
    response_flags: str = "-",
) -> IstioLabels:
    """Labels for one request; `destination=None` when the sidecar answered it itself."""
    unknown = "unknown"
    return IstioLabels(
        reporter=reporter,
        source_workload=source.workload,
        source_workload_namespace=source.namespace,
        source_principal=source.principal,
        source_app=source.app,
        source_version=source.version,
        source_canonical_service=source.app,
        source_canonical_revision=source.version,
        source_cluster=CLUSTER_NAME,
        destination_workload=destination.workload if destination else unknown,
        destination_workload_namespace=destination.namespace if destination else unknown,
        destination_principal=destination.principal if destination else unknown,
        destination_app=destination.app if destination else unknown,
        destination_version=destination.version if destination else unknown,
        destination_service=f"{service}.{service_namespace}.svc.{TRUST_DOMAIN}",
        destination_service_name=service,
        destination_service_namespace=service_namespace,
        destination_canonical_service=destination.app if destination else unknown,
        destination_canonical_revision=destination.version if destination else unknown,
        destination_cluster=CLUSTER_NAME if destination else unknown,
        request_protocol="http",
        response_code=str(response_code),
        grpc_response_status="",
        response_flags=response_flags,
        # Only the server-side proxy knows the connection was mutual TLS.
        connection_security_policy="mutual_tls" if reporter == "destination" else unknown,
    )


def envoy_bound(bound: float) -> str:
    """Format a bucket bound as Envoy's Prometheus output does."""
    return str(int(bound)) if float(bound).is_integer() else repr(float(bound))


class _DurationSeries:
    __slots__ = ("counts", "total_ms")

    def __init__(self) -> None:
        self.counts = [0] * (len(DURATION_BUCKETS_MS) + 1)  # last slot: above every bound
        self.total_ms = 0.0


class IstioMetrics:
    """Thread-safe store of both metrics; register it in a CollectorRegistry to export."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, ...], int] = {}
        self._durations: dict[tuple[str, ...], _DurationSeries] = {}

    def record(self, labels: IstioLabels, duration_ms: float) -> None:
        key = labels.values()
        slot = bisect.bisect_left(DURATION_BUCKETS_MS, duration_ms)
        with self._lock:
            self._requests[key] = self._requests.get(key, 0) + 1
            series = self._durations.setdefault(key, _DurationSeries())
            series.counts[slot] += 1
            series.total_ms += duration_ms

    def reset(self) -> int:
        """Forget every count, as the proxies of restarted pods do; returns the series dropped.

        The series keep their labels, so Prometheus sees the same series fall to zero (a counter
        reset), not new ones."""
        with self._lock:
            dropped = len(self._requests)
            self._requests = dict.fromkeys(self._requests, 0)
            self._durations = {key: _DurationSeries() for key in self._durations}
        return dropped

    def collect(self) -> Iterable[Metric]:
        requests = CounterMetricFamily(
            "istio_requests", "Requests handled by an Istio proxy", labels=LABEL_NAMES
        )
        durations = HistogramMetricFamily(
            "istio_request_duration_milliseconds",
            "Duration of requests in milliseconds",
            labels=LABEL_NAMES,
        )
        with self._lock:
            for key, count in self._requests.items():
                requests.add_metric(list(key), count)
            for key, series in self._durations.items():
                durations.add_metric(list(key), _cumulative(series), series.total_ms)
        return [requests, durations]


def _cumulative(series: _DurationSeries) -> list[tuple[str, float]]:
    bounds = [envoy_bound(b) for b in DURATION_BUCKETS_MS] + ["+Inf"]
    running = 0
    buckets: list[tuple[str, float]] = []
    for bound, count in zip(bounds, series.counts, strict=True):
        running += count
        buckets.append((bound, float(running)))
    return buckets


def new_registry(metrics: IstioMetrics) -> CollectorRegistry:
    """A registry holding only the Istio metrics (no process or platform collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics)
    return registry
