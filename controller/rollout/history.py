"""The shift's history: one entry per transition, newest last, bounded in size.

The history is what `kubectl describe` shows of a shift's path (steps taken, holds, rollback),
so every transition lands here with the phase, step and weight it left the shift in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from controller.api.status import HistoryEntry, TrafficShiftStatus
from controller.rollout.decision import Transition


def record_transitions(
    history: Sequence[HistoryEntry],
    transitions: Sequence[Transition],
    status: TrafficShiftStatus,
    now: datetime,
    limit: int,
) -> list[HistoryEntry]:
    """`history` plus one entry per transition, trimmed to the newest `limit` entries."""
    added = [
        HistoryEntry(
            time=now,
            phase=status.phase,
            step=status.current_step,
            weight=status.canary_weight,
            reason=transition.reason,
            message=transition.message,
        )
        for transition in transitions
    ]
    combined = [*history, *added]
    return combined[-limit:]
