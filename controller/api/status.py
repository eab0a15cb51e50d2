"""The TrafficShift status: where a shift is, why, and what the gates last said.

All controller state lives here (written through the status subresource), so a restarted
controller resumes exactly where the last one stopped. Times are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from controller.api.alerting import PendingAlert
from controller.api.base import ApiModel

MAX_HISTORY = 50
MAX_PENDING_ALERTS = 25
MAX_FIRING_ALERTS = 10


class Phase(StrEnum):
    PENDING = "Pending"  # accepted, first step not taken yet
    PROGRESSING = "Progressing"  # at a step, gates passing or not judged yet
    HOLDING = "Holding"  # gates inconclusive or erroring: weight held, deadline running
    PAUSED = "Paused"  # spec.paused, or paused by the controller after drift
    PROMOTED = "Promoted"  # route on the single canary destination
    ROLLED_BACK = "RolledBack"  # route on the single stable destination after a failure
    INVALID = "Invalid"  # spec or referenced objects wrong; VirtualService untouched

    @property
    def is_final(self) -> bool:
        return self in (Phase.PROMOTED, Phase.ROLLED_BACK, Phase.INVALID)


class RollbackCause(StrEnum):
    """Why a shift's route was sent back to stable: for dashboards, alerts and queries that
    must not parse messages."""

    GATE = "gate"  # gates failed failureLimit checks, or the evidence refuted one
    CRITICAL = "critical"  # a critical threshold was broken on one check
    DEADLINE = "deadline"  # held, or without canary traffic, longer than progressDeadline
    OPERATOR = "operator"  # `weightgate abort` (or the abort intent)
    WEBHOOK = "webhook"  # an external system asked for it
    INVALID = "invalid"  # the shift became Invalid while its canary had traffic
    DELETED = "deleted"  # the TrafficShift was deleted (spec.onDelete: rollback)


class GateVerdict(StrEnum):
    PASS = "Pass"  # noqa: S105 - a verdict, not a password
    FAIL = "Fail"
    INCONCLUSIVE = "Inconclusive"  # no data, NaN, or too few requests
    ERROR = "Error"  # Prometheus unreachable, timed out, or rejected the query


class GateEvidence(ApiModel):
    """What the sequential judge weighed for one gate: counts, rates, the e-value and its bound.

    Counts are of "events" (5xx answers, or requests slower than the gate's latency bound) out
    of requests, on the canary and, for relative thresholds, on the stable subset.
    """

    hypothesis: str = Field(
        description="What the canary is assumed to satisfy until the evidence refutes it, "
        "e.g. 'canary 5xx rate <= 1%'."
    )
    canary_events: int = Field(default=0, ge=0, description="Canary events over the shift.")
    canary_requests: int = Field(default=0, ge=0, description="Canary requests over the shift.")
    step_events: int = Field(default=0, ge=0, description="Canary events since the step began.")
    step_requests: int = Field(default=0, ge=0, description="Canary requests since the step began.")
    stable_events: int | None = Field(default=None, ge=0)
    stable_requests: int | None = Field(default=None, ge=0)
    null_rate: float | None = Field(
        default=None,
        description="The rate (0..1) tested against: the threshold, or for a relative gate the "
        "stable subset's upper confidence bound times the ratio (plus the allowance).",
    )
    e_value: float = Field(
        default=1.0, ge=0, description="Evidence against the hypothesis (1: none yet)."
    )
    bound: float = Field(
        default=0.0, ge=0, description="The e-value that refutes the hypothesis (1/alpha)."
    )
    ratio_low: float | None = Field(
        default=None, description="Lower confidence bound of the canary/stable rate ratio."
    )
    ratio_high: float | None = Field(
        default=None, description="Upper confidence bound of the canary/stable rate ratio."
    )


class GateStatus(ApiModel):
    name: str
    verdict: GateVerdict
    value: float | None = None
    stable_value: float | None = None
    threshold: str = Field(default="", description="Human-readable threshold, e.g. '<= 1'.")
    query: str = Field(default="", description="The PromQL the verdict was judged on.")
    critical: bool = Field(
        default=False,
        description="True when the value broke a critical threshold (criticalMax/criticalMin): "
        "the shift rolls back on this check without waiting for failureLimit.",
    )
    message: str = ""
    checked_at: datetime | None = None
    judge: Literal["threshold", "sequential"] = "threshold"
    waiting: bool = Field(
        default=False,
        description="Sequential judge: no evidence against the canary, but fewer than "
        "minRequests canary requests since the step began, or (at the last step) too few to "
        "show the canary's rate below the promotion limit; the step waits for evidence.",
    )
    evidence: GateEvidence | None = None


class SubsetEvidence(ApiModel):
    """One subset's counters: the raw values last read, and the requests counted from them."""

    read: dict[str, float] = Field(
        default_factory=dict,
        description="Cumulative counter values at the last reading (deltas are taken from "
        "these); keys: requests, errors, le=<bucket>, <gate>:errors, <gate>:total.",
    )
    suspect: list[str] = Field(
        default_factory=list,
        description="Counter families whose last reading fell (a reset or a scrape gap): the "
        "earlier values are kept until the next reading tells which.",
    )
    shift: dict[str, int] = Field(
        default_factory=dict, description="Counted since the shift's first reading."
    )
    step: dict[str, int] = Field(
        default_factory=dict, description="Counted since the first reading of the current step."
    )


class Evidence(ApiModel):
    """The sequential judge's counts for a shift, so a restarted controller continues the test."""

    since: datetime = Field(description="Time of the first reading of this shift.")
    read_at: datetime = Field(description="Time of the last reading.")
    step_started_at: datetime | None = Field(
        default=None, description="Start of the step that the `step` counts belong to."
    )
    canary_seen_at: datetime | None = Field(
        default=None, description="Last reading at which the canary's request count grew."
    )
    canary: SubsetEvidence = Field(default_factory=SubsetEvidence)
    stable: SubsetEvidence = Field(default_factory=SubsetEvidence)
    resets: int = Field(default=0, ge=0, description="Counter resets or gaps seen and skipped.")
    note: str = ""


class Condition(ApiModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str = ""
    last_transition_time: datetime
    observed_generation: int | None = None


class HistoryEntry(ApiModel):
    time: datetime
    phase: Phase
    step: int
    weight: int
    reason: str
    message: str = ""


class IntentAction(StrEnum):
    """What an operator asked of a shift through the ``weightgate.dev/intent`` annotation."""

    PROMOTE = "promote"  # skip the rest of the current step's dwell
    PROMOTE_FULL = "promote-full"  # 100% to the canary now, without gates
    ABORT = "abort"  # roll back now
    RETRY = "retry"  # start a rolled-back shift over from step 1


class HandledIntent(ApiModel):
    """The last operator intent the controller acted on, so no restart acts on it again."""

    id: str = Field(description="The weightgate.dev/intent-id annotation handled.")
    action: IntentAction
    by: str = Field(default="", description="Who asked (weightgate.dev/intent-by).")
    handled_at: datetime
    outcome: Literal["Applied", "Refused"]
    message: str = ""


class TrafficShiftStatus(ApiModel):
    observed_generation: int | None = None
    phase: Phase = Phase.PENDING
    current_step: int = Field(
        default=0, ge=0, description="Steps taken so far (1-based); 0 before the first step."
    )
    canary_weight: int = Field(default=0, ge=0, le=100)
    step_started_at: datetime | None = None
    holding_since: datetime | None = None
    checks_passing_since: datetime | None = Field(
        default=None,
        description="Start of the current run of all-pass checks; a step advances only after "
        "its whole interval of passing checks.",
    )
    failed_checks: int = Field(default=0, ge=0)
    write_pending: bool = Field(
        default=False,
        description="True between recording a new weight here and confirming it on the "
        "VirtualService: after a restart the controller finishes that write instead of calling "
        "it drift or stepping again.",
    )
    last_check_at: datetime | None = None
    shift_hash: str = Field(
        default="",
        description="Hash of the fields whose change restarts a shift (subsets, steps, route).",
    )
    weight_before_write: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="The live canary weight when the pending write was decided. After a "
        "restart, a live weight that is neither this nor canaryWeight means someone else "
        "changed the route: drift, not an unfinished write.",
    )
    last_intent: HandledIntent | None = Field(
        default=None,
        description="The last operator intent (annotation weightgate.dev/intent-id) handled; an "
        "intent whose id is recorded here is never acted on again.",
    )
    message: str = ""
    gates: list[GateStatus] = Field(default_factory=list)
    evidence: Evidence | None = Field(
        default=None,
        description="Sequential judge: request, 5xx and latency counts of canary and stable "
        "since the shift began and since the step began.",
    )
    rollback_cause: RollbackCause | None = Field(
        default=None,
        description="Why the route was last sent back to stable: gate, critical, deadline, "
        "operator, webhook, invalid or deleted; unset while the shift has not been rolled back.",
    )
    conditions: list[Condition] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list, max_length=MAX_HISTORY)
    pending_alerts: list[PendingAlert] = Field(
        default_factory=list,
        max_length=MAX_PENDING_ALERTS,
        description="Alerts owed to providers, recorded before delivery and cleared after, so a "
        "controller killed in between still delivers them (at least once, same dedupKey).",
    )
    firing_alerts: list[PendingAlert] = Field(
        default_factory=list,
        max_length=MAX_FIRING_ALERTS,
        description="Delivered rollback alerts not yet resolved; resolved when the shift is "
        "later promoted.",
    )
