"""The controller's own Prometheus metrics and its health endpoints.

Served on one port: ``/metrics`` (prometheus-client text format), ``/healthz`` (the process is
alive) and ``/readyz`` (the TrafficShift watch is established and, with leader election, the
process knows its role). Metric names carry the ``weightgate_`` prefix; per-shift series carry
``namespace`` and ``trafficshift`` labels and are removed when the shift is deleted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from controller.api.status import GateStatus, Phase
from controller.reconcile import TickOutcome

_SHIFT = ("namespace", "trafficshift")
# Fine at the low end: a healthy tick starts within milliseconds of its time.
TICK_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_PHASES = [phase.value for phase in Phase]


class ControllerMetrics:
    """Every metric the controller exports, in its own registry (tests get a fresh one)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._seen: set[tuple[str, str]] = set()
        self._shown: dict[tuple[str, str], tuple[str, int, int]] = {}
        r = self.registry
        self.phase = Gauge(
            "weightgate_shift_phase",
            "1 for the shift's current phase.",
            [*_SHIFT, "phase"],
            registry=r,
        )
        self.weight = Gauge(
            "weightgate_shift_canary_weight_percent",
            "Canary weight of the managed route as last recorded.",
            _SHIFT,
            registry=r,
        )
        self.step = Gauge("weightgate_shift_step", "Steps taken so far.", _SHIFT, registry=r)
        self.gate_value = Gauge(
            "weightgate_gate_value", "Last value of each gate.", [*_SHIFT, "gate"], registry=r
        )
        self.gate_verdicts = Counter(
            "weightgate_gate_verdicts_total",
            "Gate verdicts.",
            [*_SHIFT, "gate", "verdict"],
            registry=r,
        )
        self.transitions = Counter(
            "weightgate_transitions_total",
            "Transitions by reason (RolledBack, Promoted, ...).",
            [*_SHIFT, "reason"],
            registry=r,
        )
        self.rollbacks = Counter(
            "weightgate_rollbacks_total", "Rollbacks by reason.", [*_SHIFT, "reason"], registry=r
        )
        self.promotions = Counter("weightgate_promotions_total", "Promotions.", _SHIFT, registry=r)
        self.tick_seconds = Histogram(
            "weightgate_tick_duration_seconds",
            "Duration of one reconcile tick.",
            registry=r,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.tick_errors = Counter(
            "weightgate_tick_errors_total",
            "Ticks that raised (API unreachable, bugs).",
            ["kind"],
            registry=r,
        )
        self.prometheus_errors = Counter(
            "weightgate_prometheus_query_errors_total",
            "Gate checks that ended in Error.",
            ["gate"],
            registry=r,
        )
        self.alert_deliveries = Counter(
            "weightgate_alert_deliveries_total",
            "Alert delivery attempts.",
            ["provider", "result"],
            registry=r,
        )
        self.leader = Gauge("weightgate_leader", "1 while this replica is the leader.", registry=r)
        self.ticks = Counter(
            "weightgate_ticks", "Shift ticks started by the scheduler.", registry=r
        )
        self.tick_lag = Histogram(
            "weightgate_tick_lag_seconds",
            "How late each shift tick started: actual minus scheduled start.",
            registry=r,
            buckets=TICK_LAG_BUCKETS,
        )
        self.tick_lag_max = Gauge(
            "weightgate_tick_lag_max_seconds",
            "The largest tick lag since the controller started.",
            registry=r,
        )
        self.prometheus_queries = Counter(
            "weightgate_prometheus_queries",
            "PromQL queries sent for gate checks, by mode (batched rounds, watches between "
            "rounds, or per shift).",
            ["mode"],
            registry=r,
        )
        self.gate_rounds = Histogram(
            "weightgate_gate_round_seconds",
            "Duration of one batched gate round (every due shift's gates in one go).",
            registry=r,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self._lag_lock = threading.Lock()
        self._lag_max = 0.0

    def observe_tick_start(self, lag_seconds: float) -> None:
        """One shift tick started ``lag_seconds`` after its scheduled time."""
        lag = max(0.0, lag_seconds)
        self.ticks.inc()
        self.tick_lag.observe(lag)
        with self._lag_lock:
            if lag > self._lag_max:
                self._lag_max = lag
                self.tick_lag_max.set(lag)

    def observe_tick(self, outcome: TickOutcome, seconds: float) -> None:
        self.tick_seconds.observe(seconds)
        for provider, result in outcome.alert_deliveries:
            self.alert_deliveries.labels(provider, result).inc()
        shift = (outcome.namespace, outcome.name)
        if outcome.phase is None:
            self.forget(*shift)
            return
        if shift not in self._seen:
            # Counters start at 0 so the first rollback is a rise that increase() can see.
            self._seen.add(shift)
            for reason in _ROLLBACK_REASONS:
                self.rollbacks.labels(*shift, reason)
            self.promotions.labels(*shift)
        shown = (outcome.phase.value, outcome.weight, outcome.step)
        if self._shown.get(shift) != shown:  # most ticks change none of these
            self._shown[shift] = shown
            for phase in _PHASES:
                self.phase.labels(*shift, phase).set(1 if phase == outcome.phase.value else 0)
            self.weight.labels(*shift).set(outcome.weight)
            self.step.labels(*shift).set(outcome.step)
        for gate in outcome.gates:
            self._observe_gate(shift, gate)
        for transition in outcome.transitions:
            self.transitions.labels(*shift, transition.reason).inc()
            if outcome.phase is Phase.ROLLED_BACK and transition.reason in _ROLLBACK_REASONS:
                self.rollbacks.labels(*shift, transition.reason).inc()
            if transition.reason in ("Promoted", "PromotedByOperator"):
                self.promotions.labels(*shift).inc()

    def _observe_gate(self, shift: tuple[str, str], gate: GateStatus) -> None:
        self.gate_verdicts.labels(*shift, gate.name, gate.verdict.value).inc()
        if gate.value is not None:
            self.gate_value.labels(*shift, gate.name).set(gate.value)
        if gate.verdict.value == "Error":
            self.prometheus_errors.labels(gate.name).inc()

    def forget(self, namespace: str, name: str) -> None:
        """Drop a deleted shift's series so dashboards do not show ghosts."""
        self._seen.discard((namespace, name))
        self._shown.pop((namespace, name), None)
        for metric in (self.phase, self.weight, self.step, self.gate_value):
            for labels in list(_label_sets(metric)):
                if labels[:2] == (namespace, name):
                    metric.remove(*labels)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


_ROLLBACK_REASONS = {"RolledBack", "ProgressDeadlineExceeded", "SpecChanged", "Aborted"}


def _label_sets(metric: Gauge) -> list[tuple[str, ...]]:
    # prometheus_client keeps children by label-value tuple; there is no public listing API.
    return list(getattr(metric, "_metrics", {}).keys())


class HealthServer:
    """``/metrics``, ``/healthz``, ``/readyz`` on a background thread."""

    def __init__(
        self,
        metrics: ControllerMetrics,
        ready: Callable[[], bool],
        host: str = "0.0.0.0",  # noqa: S104 - kubelet probes and Prometheus scrape the pod IP
        port: int = 8080,
    ) -> None:
        handler = _handler_for(metrics, ready)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="health-server"
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler_for(
    metrics: ControllerMetrics, ready: Callable[[], bool]
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        routes: ClassVar[dict[str, Callable[[], tuple[int, str, bytes]]]] = {
            "/metrics": lambda: (200, CONTENT_TYPE_LATEST, metrics.exposition()),
            "/healthz": lambda: (200, "text/plain", b"ok\n"),
            "/readyz": lambda: (
                (200, "text/plain", b"ready\n")
                if ready()
                else (503, "text/plain", b"not ready: watch not established\n")
            ),
        }

        def do_GET(self) -> None:
            route = self.routes.get(self.path.split("?", 1)[0])
            status, content_type, body = route() if route else (404, "text/plain", b"not found\n")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            del format, args  # probes every few seconds would flood the log

    return Handler
