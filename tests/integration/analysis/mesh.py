"""Istio-shaped telemetry for the analysis tests: a prometheus_client exporter and a traffic thread.

Exposes `istio_requests_total` and `istio_request_duration_milliseconds` with Istio's label names
and default buckets. The traffic thread serves v1 (all 200, 20 ms) and v3 (20% 503, 80 ms) so the
expected gate values are known: v3 error rate 20%, v1 0%; p99 of v3 in (50, 100] ms, of v1 in
(10, 25] ms. v2 has series that never move (zero rate), v9 has none at all.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from controller.analysis.selectors import SubsetSelector

ISTIO_BUCKETS_MS = (
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
    300000, 600000, 1800000, 3600000,
)  # fmt: skip
LABELS = (
    "reporter",
    "destination_service_name",
    "destination_workload_namespace",
    "destination_version",
    "response_code",
)
SERVICE, NAMESPACE = "reviews", "bookinfo"
TICK_SECONDS = 0.02


@dataclass(frozen=True)
class VersionTraffic:
    version: str
    ok_per_tick: int
    errors_per_tick: int
    duration_ms: float


TRAFFIC = (
    VersionTraffic("v1", ok_per_tick=5, errors_per_tick=0, duration_ms=20),
    VersionTraffic("v3", ok_per_tick=4, errors_per_tick=1, duration_ms=80),
    VersionTraffic("v2", ok_per_tick=0, errors_per_tick=0, duration_ms=0),  # idle series
)


class IstioTelemetry:
    """The two Istio request metrics in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("istio_requests_total", "Requests", LABELS, registry=self.registry)
        self.duration = Histogram(
            "istio_request_duration_milliseconds",
            "Request duration",
            LABELS,
            buckets=ISTIO_BUCKETS_MS,
            registry=self.registry,
        )

    def record(self, version: str, code: str, count: int, duration_ms: float) -> None:
        labels = ("destination", SERVICE, NAMESPACE, version, code)
        self.requests.labels(*labels).inc(count)
        histogram = self.duration.labels(*labels)
        for _ in range(count):
            histogram.observe(duration_ms)


class TrafficThread:
    """Records TRAFFIC every tick until stopped (bounded: it only touches in-process counters)."""

    def __init__(self, telemetry: IstioTelemetry) -> None:
        self._telemetry = telemetry
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="istio-traffic", daemon=True)

    def start(self) -> None:
        for traffic in TRAFFIC:  # create every series up front, the idle ones included
            self._telemetry.record(traffic.version, "200", 0, traffic.duration_ms)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            for traffic in TRAFFIC:
                if traffic.ok_per_tick:
                    self._telemetry.record(
                        traffic.version, "200", traffic.ok_per_tick, traffic.duration_ms
                    )
                if traffic.errors_per_tick:
                    self._telemetry.record(
                        traffic.version, "503", traffic.errors_per_tick, traffic.duration_ms
                    )


def selector(version: str) -> SubsetSelector:
    """The selector of `version` of the service this telemetry describes."""
    return SubsetSelector(service=SERVICE, namespace=NAMESPACE, version=version)
