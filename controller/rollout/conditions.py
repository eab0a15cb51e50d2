"""The status conditions a shift keeps, following Kubernetes conventions.

Three conditions, each with a CamelCase reason and a message for `kubectl describe`:
- `Progressing`: True while the shift moves or holds, False once it stopped (paused, promoted,
  rolled back), Unknown before the first step.
- `Healthy`: what the latest check said: True all gates pass, False a gate fails, Unknown when
  not checked yet or a gate could not judge.
- `Drift`: True when the managed route's weight differs from the one this shift wrote.

`lastTransitionTime` moves only when a condition's status changes, never for a new message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from controller.api.status import Condition, Phase, TrafficShiftStatus
from controller.api.trafficshift import NoDataPolicy
from controller.rollout.verdicts import (
    CheckResult,
    describe_failure,
    describe_unsettled,
    failing_gates,
    join_descriptions,
    judge_check,
    unsettled_gates,
)

PROGRESSING = "Progressing"
HEALTHY = "Healthy"
DRIFT = "Drift"

ConditionStatus = Literal["True", "False", "Unknown"]

_PROGRESSING_BY_PHASE: dict[Phase, ConditionStatus] = {
    Phase.PENDING: "Unknown",
    Phase.PROGRESSING: "True",
    Phase.HOLDING: "True",
    Phase.PAUSED: "False",
    Phase.PROMOTED: "False",
    Phase.ROLLED_BACK: "False",
    Phase.INVALID: "False",
}


@dataclass(frozen=True)
class ConditionUpdate:
    type: str
    status: ConditionStatus
    reason: str
    message: str


def find_condition(conditions: Sequence[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def apply_condition(
    conditions: Sequence[Condition], update: ConditionUpdate, now: datetime, generation: int
) -> list[Condition]:
    """Conditions with `update` set in place (or appended), keeping the transition time if the
    status did not change."""
    current = find_condition(conditions, update.type)
    if current is None or current.status != update.status:
        transition_time = now
    else:
        transition_time = current.last_transition_time
    replacement = Condition(
        type=update.type,
        status=update.status,
        reason=update.reason,
        message=update.message,
        last_transition_time=transition_time,
        observed_generation=generation,
    )
    if current is None:
        return [*conditions, replacement]
    return [replacement if c.type == update.type else c for c in conditions]


def progressing_update(phase: Phase, reason: str, message: str) -> ConditionUpdate:
    return ConditionUpdate(PROGRESSING, _PROGRESSING_BY_PHASE[phase], reason, message)


def healthy_update(status: TrafficShiftStatus, on_no_data: NoDataPolicy) -> ConditionUpdate:
    """The Healthy condition as the status's latest gate results say."""
    if status.last_check_at is None:
        return ConditionUpdate(
            HEALTHY, "Unknown", "NotChecked", "No check has run at the current step yet."
        )
    checked = f"checked at {status.last_check_at.isoformat()}"
    result = judge_check(status.gates, on_no_data)
    if result is CheckResult.PASS:
        return ConditionUpdate(
            HEALTHY, "True", "GatesPassing", f"All {len(status.gates)} gates pass ({checked})."
        )
    if result is CheckResult.FAIL:
        failing = [describe_failure(g) for g in failing_gates(status.gates, on_no_data)]
        return ConditionUpdate(
            HEALTHY, "False", "GatesFailing", f"{join_descriptions(failing)} ({checked})."
        )
    unsettled = [describe_unsettled(g) for g in unsettled_gates(status.gates)]
    return ConditionUpdate(
        HEALTHY, "Unknown", "GatesInconclusive", f"{join_descriptions(unsettled)} ({checked})."
    )


def drift_unknown() -> ConditionUpdate:
    return ConditionUpdate(
        DRIFT, "Unknown", "NotObserved", "The route has not been read back since this shift began."
    )


def drift_not_watched() -> ConditionUpdate:
    return ConditionUpdate(
        DRIFT, "Unknown", "ShiftFinished", "The shift is over; its route is no longer watched."
    )


def in_sync(weight: int) -> ConditionUpdate:
    return ConditionUpdate(
        DRIFT, "False", "InSync", f"The managed route sends {weight}% to the canary, as recorded."
    )


def drift_found(reason: str, message: str) -> ConditionUpdate:
    return ConditionUpdate(DRIFT, "True", reason, message)


def drift_cleared(reason: str, message: str) -> ConditionUpdate:
    return ConditionUpdate(DRIFT, "False", reason, message)


def is_drift_paused(status: TrafficShiftStatus) -> bool:
    """Paused because the route drifted, rather than (only) because spec.paused asked for it."""
    drift = find_condition(status.conditions, DRIFT)
    return status.phase is Phase.PAUSED and drift is not None and drift.status == "True"
