"""Builders for the alerting tests: the bookinfo reviews shift rolled back at step 2 by its
error-rate gate, the transitions and routes that go with it, and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from controller.alerts import (
    AlertSettings,
    PendingAlert,
    ShiftFacts,
    alerts_for,
)
from controller.api.status import GateStatus, GateVerdict, Phase, TrafficShiftStatus
from controller.api.trafficshift import AlertEvent, AlertRoute, TrafficShift
from controller.rollout import Transition

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
QUERY = (
    'sum(rate(istio_requests_total{destination_version="v3",response_code=~"5.."}[1m])) / '
    'sum(rate(istio_requests_total{destination_version="v3"}[1m])) * 100'
)
SLACK_URL = "https://hooks.slack.com/services/T000/B000/XyzSecretToken123"
WEBHOOK_SECRET = "webhook-shared-secret-42"
ROLLBACK_MESSAGE = (
    "Rolled back VirtualService 'reviews' to 'v1' at step 2/3 (50% to canary 'v3') after 2 "
    "failed checks in a row (failureLimit 2): gate 'error-rate' failed: value 5.2, threshold "
    "'<= 1'."
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def error_gate(verdict: GateVerdict = GateVerdict.FAIL) -> GateStatus:
    return GateStatus(name="error-rate", verdict=verdict, value=5.2, threshold="<= 1", query=QUERY)


def latency_gate() -> GateStatus:
    return GateStatus(name="latency-p99", verdict=GateVerdict.PASS, value=120, threshold="<= 500")


def shift(generation: int = 3) -> TrafficShift:
    return TrafficShift.model_validate(
        {
            "metadata": {"name": "reviews-v3", "namespace": "bookinfo", "generation": generation},
            "spec": {
                "virtualService": "reviews",
                "stable": "v1",
                "canary": "v3",
                "steps": [10, 50, 100],
                "alerts": [{"provider": "oncall"}],
            },
        }
    )


def rolled_back_facts() -> ShiftFacts:
    """Facts as the tick gives them after a rollback from 50% at step 2."""
    before = TrafficShiftStatus(phase=Phase.PROGRESSING, current_step=2, canary_weight=50)
    after = TrafficShiftStatus(
        phase=Phase.ROLLED_BACK,
        current_step=2,
        canary_weight=0,
        gates=[latency_gate(), error_gate()],
    )
    return ShiftFacts.of(shift(), before, after)


def rollback() -> Transition:
    return Transition("RolledBack", ROLLBACK_MESSAGE, warning=True, alert_event=AlertEvent.ROLLBACK)


def promoted() -> Transition:
    return Transition(
        "Promoted",
        "Promoted: VirtualService 'reviews' sends all traffic to canary 'v3' after 3 steps "
        "with passing checks.",
        alert_event=AlertEvent.PROMOTED,
    )


def routes(*specs: tuple[str, list[str]]) -> list[AlertRoute]:
    return [AlertRoute.model_validate({"provider": p, "events": e}) for p, e in specs]


def rollback_alert(provider: str = "oncall", now: datetime = T0) -> PendingAlert:
    (alert,) = alerts_for([rollback()], routes((provider, ["rollback"])), rolled_back_facts(), now)
    return alert


def settings(**providers: dict[str, Any]) -> AlertSettings:
    return AlertSettings.model_validate(
        {"providers": providers, "prometheusExternalUrl": "http://prometheus.example:9090"}
    )
