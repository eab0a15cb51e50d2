"""What one branch of the state machine works with and hands back.

`Tick` bundles the inputs of one `decide` call; `Outcome` is a branch's answer before the
bookkeeping every decision shares (observed generation, conditions, history) is applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.api.status import Phase, TrafficShiftStatus
from controller.api.trafficshift import TrafficShiftSpec
from controller.rollout.conditions import ConditionUpdate
from controller.rollout.decision import Action, Observation, Policy, Transition


@dataclass(frozen=True)
class Tick:
    spec: TrafficShiftSpec
    generation: int
    observation: Observation
    now: datetime
    policy: Policy


@dataclass(frozen=True)
class Outcome:
    action: Action
    status: TrafficShiftStatus
    transitions: tuple[Transition, ...] = ()
    conditions: tuple[ConditionUpdate, ...] = ()


def evolve(status: TrafficShiftStatus, **changes: Any) -> TrafficShiftStatus:
    """A copy of the (frozen) status with `changes` applied; field names, not wire aliases."""
    unknown = set(changes) - set(TrafficShiftStatus.model_fields)
    if unknown:  # model_copy would silently accept a misspelt field
        raise ValueError(f"TrafficShiftStatus has no field(s) {sorted(unknown)}")
    return status.model_copy(update=changes)


def rolled_back(status: TrafficShiftStatus) -> TrafficShiftStatus:
    """`status` sent back to stable: phase RolledBack at 0%, no hold or dwell running."""
    return evolve(
        status,
        phase=Phase.ROLLED_BACK,
        canary_weight=0,
        holding_since=None,
        checks_passing_since=None,
    )


def stay(status: TrafficShiftStatus, *conditions: ConditionUpdate) -> Outcome:
    return Outcome(Action.NONE, status, conditions=conditions)
