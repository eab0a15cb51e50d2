"""The vocabulary of the rollout state machine: what it is told, and what it decides.

`decide` (in ``machine.py``) takes an `Observation` of one reconcile tick and returns a
`Decision`: one action on the VirtualService, the full next status, and the transitions worth an
event, a history entry and maybe an alert. These types carry no behaviour of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from controller.api.status import (
    MAX_HISTORY,
    Evidence,
    GateStatus,
    IntentAction,
    RollbackCause,
    TrafficShiftStatus,
)
from controller.api.trafficshift import AlertEvent


class Action(StrEnum):
    NONE = "None"  # leave the VirtualService as it is
    SET_WEIGHT = "SetWeight"  # two-destination split at Decision.weight percent canary
    PROMOTE = "Promote"  # single destination: the canary subset
    ROLLBACK = "Rollback"  # single destination: the stable subset


@dataclass(frozen=True)
class Transition:
    """A change worth telling people about: a Kubernetes event, a history entry, maybe an alert."""

    reason: str  # CamelCase, e.g. "StepAdvanced", "RolledBack", "ProgressDeadlineExceeded"
    message: str  # a sentence for `kubectl describe`: what happened, why, what comes next
    warning: bool = False  # emit as a Warning event rather than Normal
    alert_event: AlertEvent | None = None  # which alert routes (spec.alerts[].events) fire
    cause: RollbackCause | None = None  # for a rollback: why (recorded in status.rollbackCause)


@dataclass(frozen=True)
class Intent:
    """One operator request, as read from the shift's annotations (see ``intents.py``)."""

    id: str  # unique per request: the status records it so it is carried out once
    action: IntentAction
    by: str = ""  # who asked, as far as their client knew


@dataclass(frozen=True)
class Observation:
    """What the reconcile loop saw this tick."""

    live_weight: int  # canary weight of the managed route right now (0..100)
    gates: tuple[GateStatus, ...] | None = None  # this tick's check results; None: no check ran
    intent: Intent | None = None  # the operator intent on the shift now, handled or not
    # The sequential judge's counts after this tick's check; None: no check ran, or no
    # sequential gate (the recorded evidence stands).
    evidence: Evidence | None = None
    # The shift is being deleted (its finalizer holds the delete): spec.onDelete decides.
    deleting: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.live_weight <= 100:
            raise ValueError(
                f"Observation.live_weight is {self.live_weight}: a canary weight is a percent "
                "from 0 to 100; read it with controller.routing.read_canary_weight"
            )


@dataclass(frozen=True)
class Policy:
    """Controller-wide choices that are not part of a TrafficShift."""

    # pause: stop and tell a human when someone else changes the managed route's weights;
    # reassert: write our weight back (a GitOps tool fighting us would then flap the route).
    drift: Literal["pause", "reassert"] = "pause"
    history_limit: int = MAX_HISTORY

    def __post_init__(self) -> None:
        if not 1 <= self.history_limit <= MAX_HISTORY:
            raise ValueError(
                f"Policy.history_limit is {self.history_limit}: keep between 1 and {MAX_HISTORY} "
                "entries (the status schema holds at most that many)"
            )


@dataclass(frozen=True)
class Decision:
    """One tick's verdict. The caller writes `status`, then carries out `action`."""

    action: Action
    # The canary weight the VirtualService must have after the action (0 for ROLLBACK, 100 for
    # PROMOTE). For NONE it is the recorded weight, and nothing is to be written.
    weight: int
    # The full next status. `write_pending` is already True when `action` is not NONE: write
    # this status first, then the VirtualService, then `confirm_write` once the read-back agrees.
    status: TrafficShiftStatus
    transitions: tuple[Transition, ...] = ()

    @property
    def changes_virtual_service(self) -> bool:
        return self.action is not Action.NONE
