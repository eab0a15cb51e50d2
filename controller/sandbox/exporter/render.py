"""One scrape of the synthetic exporter, in Prometheus text format, rendered fast.

Every series' name-and-labels prefix is built once at start; a scrape only turns the counts of
the moment into numbers and joins strings, which keeps a thousand services (about 92k series)
well under a second of CPU.

Labels are the part of Istio's standard set a destination sidecar reports that dashboards and
canary queries select on (see `EXPORTED_LABELS`); values come from the sandbox mesh's own Istio
label rules, so they read exactly as the mesh's (and a real Istio's) do.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.sandbox.exporter.catalog import VERSIONS, ServiceRef
from controller.sandbox.exporter.model import TrafficModel, service_medians
from controller.sandbox.mesh.telemetry import (
    DURATION_BUCKETS_MS,
    Peer,
    envoy_bound,
    request_labels,
)

EXPORTED_LABELS: tuple[str, ...] = (
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
)
REQUESTS = "istio_requests_total"
DURATION = "istio_request_duration_milliseconds"
RESPONSE_CODES = ("200", "503")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_HEADERS = (
    f"# HELP {REQUESTS} Requests handled by an Istio proxy\n# TYPE {REQUESTS} counter\n",
    f"# HELP {DURATION} Duration of requests in milliseconds\n# TYPE {DURATION} histogram\n",
)
_BOUNDS = [envoy_bound(b) for b in DURATION_BUCKETS_MS]


@dataclass(frozen=True)
class _Series:
    """Prefixes of every series of one (service, version, response code)."""

    requests: str
    buckets: tuple[str, ...]  # one per bound, then +Inf
    total_ms: str
    count: str
    fractions: tuple[float, ...]
    mean_ms: float
    is_error: bool


def _label_text(service: ServiceRef, version: str, code: str) -> str:
    source = Peer("loadgen", service.namespace, "loadgen", "v1", "loadgen")
    destination = Peer(
        f"{service.name}-{version}", service.namespace, service.name, version, service.name
    )
    labels = request_labels(
        reporter="destination",
        source=source,
        destination=destination,
        service=service.name,
        service_namespace=service.namespace,
        response_code=int(code),
    )
    return ",".join(f'{name}="{getattr(labels, name)}"' for name in EXPORTED_LABELS)


def _series(labels: str, fractions: tuple[float, ...], mean_ms: float, code: str) -> _Series:
    return _Series(
        requests=f"{REQUESTS}{{{labels}}} ",
        buckets=tuple(f'{DURATION}_bucket{{{labels},le="{b}"}} ' for b in [*_BOUNDS, "+Inf"]),
        total_ms=f"{DURATION}_sum{{{labels}}} ",
        count=f"{DURATION}_count{{{labels}}} ",
        fractions=fractions,
        mean_ms=mean_ms,
        is_error=code != "200",
    )


class ScrapeRenderer:
    """Renders /metrics for `services` under `model`; medians are drawn from `seed`."""

    def __init__(self, services: list[ServiceRef], model: TrafficModel, seed: int) -> None:
        self.model = model
        medians = iter(service_medians(len(services) * len(VERSIONS), seed))
        self.medians_ms: dict[tuple[str, str, str], float] = {}
        """Median latency by (namespace, service, version)."""
        self._series: list[_Series] = []
        for service in services:
            for version in VERSIONS:
                median = next(medians)
                self.medians_ms[service.namespace, service.name, version] = median
                fractions = model.bucket_fractions(median)
                for code in RESPONSE_CODES:
                    labels = _label_text(service, version, code)
                    self._series.append(_series(labels, fractions, model.mean_ms(median), code))

    @property
    def series_count(self) -> int:
        """Samples per scrape: a counter plus buckets, +Inf, _sum and _count per label set."""
        return len(self._series) * (len(DURATION_BUCKETS_MS) + 4)

    def render(self, elapsed_seconds: float) -> bytes:
        ok, errors = self.model.counts(elapsed_seconds)
        requests: list[str] = [_HEADERS[0]]
        durations: list[str] = [_HEADERS[1]]
        for series in self._series:
            count = errors if series.is_error else ok
            text = str(count)
            requests.append(f"{series.requests}{text}\n")
            for prefix, fraction in zip(series.buckets, series.fractions, strict=False):
                durations.append(f"{prefix}{int(count * fraction)}\n")
            durations.append(f"{series.buckets[-1]}{text}\n")
            durations.append(f"{series.total_ms}{count * series.mean_ms:.1f}\n")
            durations.append(f"{series.count}{text}\n")
        return "".join(requests + durations).encode()
