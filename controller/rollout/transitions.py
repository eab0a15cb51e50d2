"""Every transition the state machine can make, with its reason, alert and human message.

Messages are read in `kubectl describe`, in Kubernetes events and in alerts, often by someone
woken up by one: each says what happened, where (step, weight, VirtualService), why (the gate,
its value, threshold and query), and what happens next or what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from controller.api.durations import format_duration
from controller.api.status import Phase, RollbackCause, TrafficShiftStatus
from controller.api.trafficshift import AlertEvent, TrafficShiftSpec
from controller.rollout.decision import Transition
from controller.rollout.verdicts import join_descriptions


def route_name(spec: TrafficShiftSpec) -> str:
    route = f" route '{spec.route}'" if spec.route else ""
    return f"VirtualService '{spec.virtual_service}'{route}"


def position(spec: TrafficShiftSpec, status: TrafficShiftStatus) -> str:
    """Where the shift stands, e.g. "step 2/4 (25% to canary 'v3')"."""
    return (
        f"step {status.current_step}/{len(spec.steps)} "
        f"({status.canary_weight}% to canary '{spec.canary}')"
    )


def shift_started(
    spec: TrafficShiftSpec, status: TrafficShiftStatus, after: Phase | None
) -> Transition:
    again = f" again after {after.value} (the spec changed)" if after is not None else ""
    return Transition(
        "ShiftStarted",
        f"Started shifting {route_name(spec)} from '{spec.stable}' to '{spec.canary}'{again}: "
        f"{position(spec, status)}; the next step follows after {format_duration(spec.interval)} "
        "of passing checks.",
    )


def step_advanced(spec: TrafficShiftSpec, status: TrafficShiftStatus) -> Transition:
    return Transition(
        "StepAdvanced",
        f"Advanced to {position(spec, status)} after {format_duration(spec.interval)} of "
        "passing checks at the previous step.",
    )


def promoted(spec: TrafficShiftSpec) -> Transition:
    return Transition(
        "Promoted",
        f"Promoted: {route_name(spec)} sends all traffic to canary '{spec.canary}' after "
        f"{len(spec.steps)} steps with passing checks.",
        alert_event=AlertEvent.PROMOTED,
    )


def rolled_back_on_gates(
    spec: TrafficShiftSpec, status: TrafficShiftStatus, failures: Sequence[str]
) -> Transition:
    limit = spec.analysis.failure_limit
    return Transition(
        "RolledBack",
        f"Rolled back {route_name(spec)} to '{spec.stable}' at {position(spec, status)} after "
        f"{status.failed_checks} failed checks in a row (failureLimit {limit}): "
        f"{join_descriptions(failures)}.",
        warning=True,
        alert_event=AlertEvent.ROLLBACK,
        cause=RollbackCause.GATE,
    )


def rolled_back_on_critical(
    spec: TrafficShiftSpec, status: TrafficShiftStatus, failures: Sequence[str]
) -> Transition:
    """A gate broke a critical threshold: one check was enough, failureLimit was not waited for."""
    limit = spec.analysis.failure_limit
    return Transition(
        "RolledBack",
        # The limit comes before the gates: an Event keeps only the message's first 1 KiB.
        f"Rolled back {route_name(spec)} to '{spec.stable}' at {position(spec, status)} on "
        f"this check, without waiting for failureLimit {limit} ({status.failed_checks} of "
        f"{limit} failed checks in a row), because a critical threshold was broken: "
        f"{join_descriptions(failures)}.",
        warning=True,
        alert_event=AlertEvent.ROLLBACK,
        cause=RollbackCause.CRITICAL,
    )


def rolled_back_on_evidence(
    spec: TrafficShiftSpec, status: TrafficShiftStatus, failures: Sequence[str]
) -> Transition:
    """The sequential judge found evidence that the canary is worse than a gate allows."""
    return Transition(
        "RolledBack",
        f"Rolled back {route_name(spec)} to '{spec.stable}' at {position(spec, status)}: the "
        f"evidence refutes a gate at confidence {spec.analysis.confidence:g}: "
        f"{join_descriptions(failures)}.",
        warning=True,
        alert_event=AlertEvent.ROLLBACK,
        cause=RollbackCause.GATE,
    )


def no_canary_traffic(
    spec: TrafficShiftSpec, status: TrafficShiftStatus, quiet: timedelta, waiting: Sequence[str]
) -> Transition:
    """A step waited for evidence, and the canary got no request for progressDeadline."""
    deadline = format_duration(spec.analysis.progress_deadline)
    return Transition(
        "ProgressDeadlineExceeded",
        f"Rolled back {route_name(spec)} to '{spec.stable}' at {position(spec, status)}: the "
        f"canary got no request for {format_duration(quiet)}, longer than "
        f"analysis.progressDeadline {deadline}, so the step could not gather evidence: "
        f"{join_descriptions(waiting)}.",
        warning=True,
        alert_event=AlertEvent.ROLLBACK,
        cause=RollbackCause.DEADLINE,
    )


def check_failed(
    spec: TrafficShiftSpec, status: TrafficShiftStatus, failures: Sequence[str]
) -> Transition:
    limit = spec.analysis.failure_limit
    return Transition(
        "CheckFailed",
        f"Check failed at {position(spec, status)}, {status.failed_checks} of {limit} in a row "
        f"before rollback; holding the weight: {join_descriptions(failures)}.",
        warning=True,
    )


def holding_started(
    spec: TrafficShiftSpec,
    status: TrafficShiftStatus,
    unsettled: Sequence[str],
    *,
    warning: bool = True,
) -> Transition:
    """Warning when a gate errored (a query failed); Normal when it only waits for data."""
    deadline = format_duration(spec.analysis.progress_deadline)
    return Transition(
        "Holding",
        f"Holding at {position(spec, status)}: {join_descriptions(unsettled)}. Rolls back if "
        f"the gates still cannot judge after {deadline} (analysis.progressDeadline).",
        warning=warning,
        alert_event=AlertEvent.HOLDING,
    )


def holding_ended(spec: TrafficShiftSpec, status: TrafficShiftStatus) -> Transition:
    return Transition(
        "GatesPassing",
        f"All gates pass again at {position(spec, status)}; the step advances after "
        f"{format_duration(spec.interval)} of passing checks.",
    )


def deadline_exceeded(
    spec: TrafficShiftSpec, status: TrafficShiftStatus, held: timedelta, unsettled: Sequence[str]
) -> Transition:
    deadline = format_duration(spec.analysis.progress_deadline)
    return Transition(
        "ProgressDeadlineExceeded",
        f"Rolled back {route_name(spec)} to '{spec.stable}' at {position(spec, status)}: held "
        f"for {format_duration(held)}, longer than analysis.progressDeadline {deadline}, "
        f"because {join_descriptions(unsettled)}.",
        warning=True,
        alert_event=AlertEvent.ROLLBACK,
        cause=RollbackCause.DEADLINE,
    )


def spec_changed(spec: TrafficShiftSpec, previous: TrafficShiftStatus) -> Transition:
    # The old step count and subsets are gone with the old spec: name only what the status holds.
    return Transition(
        "SpecChanged",
        f"Rolled back {route_name(spec)} to '{spec.stable}' at step {previous.current_step} "
        f"({previous.canary_weight}% to the canary): the target, subsets or steps of the shift "
        "changed; starting over from step 1 with the new spec.",
        warning=True,
        alert_event=AlertEvent.ROLLBACK,
    )


def paused(spec: TrafficShiftSpec, status: TrafficShiftStatus) -> Transition:
    if status.current_step == 0:
        return Transition(
            "Paused",
            "Paused before the first step: spec.paused is true. Set it to false to take step 1 "
            f"({spec.steps[0]}% to canary '{spec.canary}').",
        )
    return Transition(
        "Paused",
        f"Paused at {position(spec, status)}: spec.paused is true. Set it to false to resume; "
        f"the step's {format_duration(spec.interval)} dwell then starts over.",
    )


def resumed(spec: TrafficShiftSpec, status: TrafficShiftStatus, why: str) -> Transition:
    return Transition(
        "Resumed",
        f"Resumed {position(spec, status)}: {why}; the step's {format_duration(spec.interval)} "
        "dwell starts over.",
    )


def drift_paused(spec: TrafficShiftSpec, status: TrafficShiftStatus, live: int) -> Transition:
    return Transition(
        "DriftDetected",
        f"Paused at {position(spec, status)}: {route_name(spec)} sends {live}% to the canary, "
        f"not the {status.canary_weight}% this shift wrote, so something else changed it. Set "
        f"the canary weight back to {status.canary_weight}% to resume.",
        warning=True,
        alert_event=AlertEvent.DRIFT,
    )


def drift_reasserted(spec: TrafficShiftSpec, status: TrafficShiftStatus, live: int) -> Transition:
    return Transition(
        "DriftReasserted",
        f"{route_name(spec)} sent {live}% to the canary, not the {status.canary_weight}% this "
        f"shift wrote at {position(spec, status)}; writing {status.canary_weight}% back (drift "
        "policy: reassert). The step's dwell starts over.",
        warning=True,
        alert_event=AlertEvent.DRIFT,
    )


def _by(who: str) -> str:
    return f" by {who}" if who else " by an operator"


def aborted(spec: TrafficShiftSpec, status: TrafficShiftStatus, who: str) -> Transition:
    return Transition(
        "Aborted",
        f"Rolled back {route_name(spec)} to '{spec.stable}' at {position(spec, status)}: "
        f"aborted{_by(who)}. `weightgate retry` starts it over from step 1.",
        warning=True,
        alert_event=AlertEvent.ROLLBACK,
        cause=RollbackCause.OPERATOR,
    )


def promoted_by_operator(
    spec: TrafficShiftSpec, status: TrafficShiftStatus, who: str
) -> Transition:
    return Transition(
        "PromotedByOperator",
        f"Promoted{_by(who)} at {position(spec, status)}: {route_name(spec)} sends all traffic "
        f"to canary '{spec.canary}' now, without waiting for the remaining steps or gates.",
        alert_event=AlertEvent.PROMOTED,
    )


def dwell_skipped(spec: TrafficShiftSpec, status: TrafficShiftStatus, who: str) -> Transition:
    return Transition(
        "PromoteRequested",
        f"Promote requested{_by(who)} at {position(spec, status)}: the rest of the step's "
        f"{format_duration(spec.interval)} dwell is skipped; the shift advances at the next "
        "check if every gate passes.",
    )


def retried(spec: TrafficShiftSpec, who: str) -> Transition:
    return Transition(
        "Retried",
        f"Retry requested{_by(who)}: shifting {route_name(spec)} from '{spec.stable}' to "
        f"'{spec.canary}' again from step 1.",
    )


def intent_refused(action: str, who: str, why: str) -> Transition:
    return Transition(
        "IntentRefused",
        f"Did not {action} as asked{_by(who)}: {why}.",
        warning=True,
    )


def rolled_back_on_delete(spec: TrafficShiftSpec, status: TrafficShiftStatus) -> Transition:
    return Transition(
        "RolledBackOnDelete",
        f"Rolled back {route_name(spec)} to '{spec.stable}' at {position(spec, status)}: the "
        "TrafficShift was deleted (spec.onDelete: rollback). The delete finishes once the route "
        "reads back as stable.",
        warning=True,
        alert_event=AlertEvent.ROLLBACK,
        cause=RollbackCause.DELETED,
    )


def deleted_route_kept(spec: TrafficShiftSpec, status: TrafficShiftStatus) -> Transition:
    return Transition(
        "DeletedRouteKept",
        f"TrafficShift deleted at {position(spec, status)}: {route_name(spec)} is left as it is "
        "(spec.onDelete: keep) and no longer watched; set its weights yourself, or create a "
        "TrafficShift again.",
        warning=True,
    )
