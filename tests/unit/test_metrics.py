"""Controller metrics: weight and phase per shift, rollbacks by reason, health endpoints."""

from __future__ import annotations

from datetime import UTC, datetime

import requests
from prometheus_client.parser import text_string_to_metric_families

from controller.api.status import GateStatus, GateVerdict, Phase
from controller.metrics import ControllerMetrics, HealthServer
from controller.reconcile import TickOutcome
from controller.rollout import Transition

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def sample(metrics: ControllerMetrics, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


def outcome(
    phase: Phase, weight: int, *transitions: Transition, gates: tuple[GateStatus, ...] = ()
) -> TickOutcome:
    return TickOutcome(
        "bookinfo", "reviews-v3", phase, weight=weight, step=1, transitions=transitions, gates=gates
    )


def test_weight_phase_and_gate_values_follow_ticks() -> None:
    metrics = ControllerMetrics()
    gate = GateStatus(name="error-rate", verdict=GateVerdict.PASS, value=0.4, checked_at=NOW)
    metrics.observe_tick(outcome(Phase.PROGRESSING, 50, gates=(gate,)), 0.02)
    shift = {"namespace": "bookinfo", "trafficshift": "reviews-v3"}
    assert sample(metrics, "weightgate_shift_canary_weight_percent", **shift) == 50
    assert sample(metrics, "weightgate_shift_phase", phase="Progressing", **shift) == 1
    assert sample(metrics, "weightgate_shift_phase", phase="Holding", **shift) == 0
    assert sample(metrics, "weightgate_gate_value", gate="error-rate", **shift) == 0.4
    assert (
        sample(
            metrics, "weightgate_gate_verdicts_total", gate="error-rate", verdict="Pass", **shift
        )
        == 1
    )


def test_rollback_counter_rises_by_one_with_its_reason() -> None:
    metrics = ControllerMetrics()
    rolled = Transition("RolledBack", "error-rate 9 > 1", warning=True)
    metrics.observe_tick(outcome(Phase.ROLLED_BACK, 0, rolled), 0.01)
    assert sample(metrics, "weightgate_rollbacks_total", reason="RolledBack") == 1
    assert sample(metrics, "weightgate_promotions_total") == 0
    assert sample(metrics, "weightgate_rollbacks_total", reason="ProgressDeadlineExceeded") == 0


def test_rollback_counters_start_at_zero_so_the_first_rollback_is_a_rise() -> None:
    metrics = ControllerMetrics()
    metrics.observe_tick(outcome(Phase.PROGRESSING, 50), 0.01)
    assert sample(metrics, "weightgate_rollbacks_total", reason="RolledBack") == 0


def test_deleted_shift_series_are_removed() -> None:
    metrics = ControllerMetrics()
    metrics.observe_tick(outcome(Phase.PROGRESSING, 25), 0.01)
    metrics.observe_tick(TickOutcome("bookinfo", "reviews-v3", None), 0.01)
    assert sample(metrics, "weightgate_shift_canary_weight_percent") is None


def test_health_endpoints_answer_and_readyz_follows_readiness() -> None:
    ready = {"value": False}
    server = HealthServer(
        ControllerMetrics(), lambda: ready["value"], host="127.0.0.1", port=0
    ).start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        assert requests.get(f"{base}/readyz", timeout=5).status_code == 503
        ready["value"] = True
        assert requests.get(f"{base}/readyz", timeout=5).status_code == 200
        body = requests.get(f"{base}/metrics", timeout=5).text
        assert "weightgate_tick_duration_seconds" in body
    finally:
        server.stop()


def test_alert_deliveries_are_counted_by_provider_and_result() -> None:
    metrics = ControllerMetrics()
    done = TickOutcome(
        "bookinfo",
        "reviews-v3",
        Phase.ROLLED_BACK,
        alert_deliveries=(("oncall", "delivered"), ("audit", "failed")),
    )
    metrics.observe_tick(done, 0.01)
    assert (
        sample(metrics, "weightgate_alert_deliveries_total", provider="oncall", result="delivered")
        == 1
    )
    assert (
        sample(metrics, "weightgate_alert_deliveries_total", provider="audit", result="failed") == 1
    )
