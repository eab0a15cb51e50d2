"""Deleting a shift whose canary may still have traffic (``spec.onDelete``).

The controller keeps a finalizer on a shift from its first weight write until it ends, so a
delete only marks it; the tick then decides here. With ``rollback`` (the default) the route goes
back to stable, with a Warning and the rollback alert, like any other rollback: recorded first,
then written, then confirmed. With ``keep`` the route is left as it is and the Warning says so.
A shift whose canary has no traffic (not started, finished) has nothing to undo.
"""

from __future__ import annotations

from controller.api.status import Phase, TrafficShiftStatus
from controller.api.trafficshift import DeletePolicy, TrafficShiftSpec
from controller.rollout import transitions
from controller.rollout.decision import Action
from controller.rollout.tick import Outcome, Tick, rolled_back, stay

_MID_SHIFT = (Phase.PROGRESSING, Phase.HOLDING, Phase.PAUSED)


def exposed(status: TrafficShiftStatus) -> bool:
    """Whether the canary may have traffic from this shift: it is mid-shift past step 0, or a
    weight write of it is not yet confirmed."""
    if status.write_pending and not status.phase.is_final:
        return True
    return status.phase in _MID_SHIFT and status.current_step > 0


def on_delete(tick: Tick, status: TrafficShiftStatus) -> Outcome:
    """The outcome of a tick of a shift being deleted."""
    if not exposed(status):
        return stay(status)
    spec = tick.spec
    if spec.on_delete is DeletePolicy.KEEP:
        return Outcome(Action.NONE, status, (transitions.deleted_route_kept(spec, status),))
    told = transitions.rolled_back_on_delete(spec, status)
    return Outcome(Action.ROLLBACK, rolled_back(status), (told,))


def may_let_go(spec: TrafficShiftSpec, status: TrafficShiftStatus | None) -> bool:
    """Whether a shift being deleted has done what ``onDelete`` asks (its finalizer may go;
    alerts still owed are the tick's to weigh)."""
    if status is None:
        return True
    if spec.on_delete is DeletePolicy.KEEP:
        return not status.write_pending or status.phase.is_final
    return not exposed(status) and not status.write_pending
