"""What one tick did, for the scheduler, pipeline mode and tests."""

from __future__ import annotations

from dataclasses import dataclass

from controller.api.status import GateStatus, Phase, TrafficShiftStatus
from controller.rollout import Action, Transition


@dataclass(frozen=True)
class TickOutcome:
    namespace: str
    name: str
    phase: Phase | None  # None when the TrafficShift is gone
    weight: int = 0
    step: int = 0
    action: Action = Action.NONE
    transitions: tuple[Transition, ...] = ()
    gates: tuple[GateStatus, ...] = ()
    write_confirmed: bool = True
    message: str = ""
    status: TrafficShiftStatus | None = None  # the status as recorded by this tick
    alert_deliveries: tuple[tuple[str, str], ...] = ()  # (provider, delivered|failed|given_up)

    @property
    def finished(self) -> bool:
        return self.phase is None or self.phase.is_final
