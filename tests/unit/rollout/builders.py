"""Builders for the rollout tests: specs, gate results, statuses at a given step, one tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from controller.api.status import GateStatus, GateVerdict, Phase, TrafficShiftStatus
from controller.api.trafficshift import TrafficShiftSpec
from controller.rollout import Decision, Intent, Observation, Policy, decide, shift_hash

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
STEPS = (10, 25, 50, 100)
INTERVAL = timedelta(seconds=30)
DEADLINE = timedelta(minutes=10)
GENERATION = 3


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_spec(**overrides: Any) -> TrafficShiftSpec:
    """The bookinfo shift: reviews v1 -> v3 in [10, 25, 50, 100], 30s, failureLimit 2, 10m."""
    analysis = {"failure_limit": 2, "progress_deadline": DEADLINE, **overrides.pop("analysis", {})}
    fields: dict[str, Any] = {
        "virtual_service": "reviews",
        "stable": "v1",
        "canary": "v3",
        "steps": list(STEPS),
        "interval": INTERVAL,
        "analysis": analysis,
        **overrides,
    }
    return TrafficShiftSpec.model_validate(fields)


def gate(
    verdict: GateVerdict = GateVerdict.PASS, name: str = "error-rate", **kw: Any
) -> GateStatus:
    defaults: dict[str, Any] = {
        "value": 0.2 if verdict is GateVerdict.PASS else 4.5,
        "threshold": "<= 1",
        "query": f'sum(rate(istio_requests_total{{gate="{name}"}}[1m]))',
    }
    if verdict in (GateVerdict.ERROR, GateVerdict.INCONCLUSIVE):
        defaults["value"] = None
        defaults["message"] = "no samples" if verdict is GateVerdict.INCONCLUSIVE else "timeout"
    return GateStatus(name=name, verdict=verdict, **{**defaults, **kw})


def gates(*verdicts: GateVerdict) -> tuple[GateStatus, ...]:
    """One gate per verdict, named gate-0, gate-1, ..."""
    return tuple(gate(v, name=f"gate-{i}") for i, v in enumerate(verdicts))


PASS = GateVerdict.PASS
FAIL = GateVerdict.FAIL
ERROR = GateVerdict.ERROR
NO_DATA = GateVerdict.INCONCLUSIVE


def status_at(
    step: int,
    spec: TrafficShiftSpec | None = None,
    *,
    phase: Phase = Phase.PROGRESSING,
    started: float = 0,
    **fields: Any,
) -> TrafficShiftStatus:
    """A confirmed status at `step` (1-based) that began at `at(started)`."""
    spec = spec or make_spec()
    base: dict[str, Any] = {
        "observed_generation": GENERATION,
        "phase": phase,
        "current_step": step,
        "canary_weight": spec.steps[step - 1] if step else 0,
        "step_started_at": at(started) if step else None,
        "shift_hash": shift_hash(spec),
    }
    return TrafficShiftStatus.model_validate({**base, **fields})


def tick(
    status: TrafficShiftStatus | None,
    now: float,
    *,
    spec: TrafficShiftSpec | None = None,
    live: int | None = None,
    checked: tuple[GateStatus, ...] | None = None,
    generation: int = GENERATION,
    policy: Policy | None = None,
    intent: Intent | None = None,
) -> Decision:
    """`decide` at `at(now)`; the live weight defaults to the recorded one (no drift)."""
    if live is None:
        live = status.canary_weight if status is not None else 0
    return decide(
        spec or make_spec(),
        generation,
        status,
        Observation(live_weight=live, gates=checked, intent=intent),
        at(now),
        policy=policy,
    )


def reasons(decision: Decision) -> list[str]:
    return [t.reason for t in decision.transitions]
