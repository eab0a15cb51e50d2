"""The TrafficShift resource: what to shift, in which steps, judged by which gates.

``weightgate.dev/v1alpha1`` ``TrafficShift`` (short name ``tshift``) is the single source of
truth for the CRD in config/crd/, which is generated from these models (see ``crd.py``).
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Field, WithJsonSchema, field_validator, model_validator

# AlertEvent is part of the spec API; the explicit alias re-exports it under mypy --strict.
from controller.api.alerting import AlertEvent as AlertEvent  # noqa: PLC0414
from controller.api.base import ApiModel, DnsLabel, Host, ObjectName
from controller.api.durations import Duration
from controller.api.gates import Gate
from controller.api.status import TrafficShiftStatus

KIND = "TrafficShift"
# Range checks happen in the list validator (one message with the fix); the schema carries the
# same bounds so the API server rejects a bad weight too.
StepWeight = Annotated[
    int, Field(strict=True), WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 100})
]
PLURAL = "trafficshifts"
MIN_CHECK_INTERVAL = timedelta(seconds=1)
SHORT_NAME = "tshift"
DEFAULT_PROFILE = "default"


class NoDataPolicy(StrEnum):
    HOLD = "hold"  # inconclusive: hold the weight until data comes or the deadline passes
    FAIL = "fail"  # count as a failed check (Flagger's behaviour)


# The finalizer the controller keeps on a TrafficShift while its canary may have traffic, so
# that deleting the shift first does what spec.onDelete says.
FINALIZER = "weightgate.dev/route-guard"


class DeletePolicy(StrEnum):
    ROLLBACK = "rollback"  # deleting a shift mid-way sends the route back to stable first
    KEEP = "keep"  # deleting leaves the route as it is (the canary keeps its share)


class Judge(StrEnum):
    SEQUENTIAL = "sequential"  # anytime-valid tests on counts accumulated over the shift
    THRESHOLD = "threshold"  # a windowed value against the threshold at each check


class AnalysisTarget(ApiModel):
    """Overrides for the Istio labels that select the canary and stable telemetry."""

    service: DnsLabel | None = Field(
        default=None,
        description="destination_service_name; default: the short name of the managed host.",
    )
    namespace: DnsLabel | None = Field(
        default=None,
        description="destination_workload_namespace; default: the TrafficShift's namespace.",
    )
    canary_version: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$",
        description="destination_version of the canary; default: the subset's `version` label.",
    )
    stable_version: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$",
        description="destination_version of the stable subset; default: its `version` label.",
    )


class Analysis(ApiModel):
    judge: Judge = Field(
        default=Judge.SEQUENTIAL,
        description="sequential: builtin and count gates are hypotheses tested on request, 5xx "
        "and latency-bucket counts accumulated over the shift; a gate rolls back the moment "
        "its evidence crosses the bound set by `confidence`. threshold: each check compares a "
        "windowed value with the threshold, and failureLimit failed checks in a row roll back.",
    )
    confidence: float = Field(
        default=0.99,
        strict=True,
        gt=0.5,
        lt=1,
        description="Sequential judge: one minus the probability of rolling back a canary that "
        "meets every gate, over the whole shift however many checks run (e.g. 0.99: at most "
        "1 such shift in 100).",
    )
    window: Duration = Field(
        default=timedelta(minutes=1),
        description="PromQL range each threshold-judged gate looks back over.",
    )
    min_requests: int = Field(
        default=20,
        strict=True,
        ge=0,
        description="sequential: a step advances only once the canary has had this many "
        "requests since the step began. threshold: fewer canary requests than this in the "
        "window makes a check inconclusive.",
    )
    check_interval: Duration | None = Field(
        default=None,
        description="Time between gate checks during a step (at least 1s); default: the "
        "controller's check interval (10s unless configured).",
    )
    failure_limit: int = Field(
        default=2,
        strict=True,
        ge=1,
        description="Threshold judge: failed checks in a row that trigger a rollback (the "
        "sequential judge rolls back on evidence, at once).",
    )
    progress_deadline: Duration = Field(
        default=timedelta(minutes=10),
        description="Holding (inconclusive or error) longer than this rolls back; so does a "
        "step whose canary got no request for this long.",
    )
    on_no_data: NoDataPolicy = Field(
        default=NoDataPolicy.HOLD,
        description="hold: no data holds the weight (until progressDeadline); fail: counts as a "
        "failed check.",
    )
    profile: DnsLabel = Field(
        default=DEFAULT_PROFILE,
        description="Gate profile (config/gates/<name>.yaml) to start from.",
    )
    gates: list[Gate] = Field(
        default_factory=list,
        description="Gates added to, or overriding by name, the profile's gates.",
    )
    target: AnalysisTarget = Field(default_factory=AnalysisTarget)

    @field_validator("check_interval")
    @classmethod
    def _check_interval_at_least_a_second(cls, value: timedelta | None) -> timedelta | None:
        # Durations written as text are whole seconds already; this catches a timedelta
        # handed in from Python.
        if value is not None and value < MIN_CHECK_INTERVAL:
            raise ValueError(
                f"checkInterval is {value.total_seconds():g}s: gates are checked at most once a "
                "second; set it to '1s' or more (e.g. '10s'), or drop it for the controller's "
                "default"
            )
        return value

    @field_validator("gates")
    @classmethod
    def _unique_gate_names(cls, gates: list[Gate]) -> list[Gate]:
        seen: set[str] = set()
        for gate in gates:
            if gate.name in seen:
                raise ValueError(f"gate '{gate.name}' is listed twice: keep one entry per name")
            seen.add(gate.name)
        return gates


class AlertRoute(ApiModel):
    provider: DnsLabel = Field(description="Alert provider name from the controller settings.")
    # Not `on`: YAML 1.1 parsers (kubectl's included) read an `on` key as the boolean true.
    events: list[AlertEvent] = Field(
        default_factory=lambda: [AlertEvent.ROLLBACK],
        min_length=1,
        description="Events that notify this provider: rollback, promoted, holding, drift, "
        "invalid.",
    )


class TrafficShiftSpec(ApiModel):
    virtual_service: ObjectName = Field(
        description="VirtualService in the same namespace whose route is shifted."
    )
    route: str | None = Field(
        default=None,
        description="Name of the http route to manage; default: the one route without `match` "
        "that sends to the stable subset.",
    )
    host: Host | None = Field(
        default=None, description="Destination host; default: the VirtualService's first host."
    )
    stable: DnsLabel = Field(description="Stable subset (DestinationRule subset name).")
    canary: DnsLabel = Field(description="Canary subset (DestinationRule subset name).")
    destination_rule: ObjectName | None = Field(
        default=None, description="When set, both subsets must exist in this DestinationRule."
    )
    steps: list[StepWeight] = Field(
        min_length=1,
        max_length=100,
        description="Canary weight per step, percent, strictly increasing, each 1..100.",
    )
    interval: Duration = Field(
        default=timedelta(seconds=30), description="Time at each step before the gates judge it."
    )
    analysis: Analysis = Field(default_factory=Analysis)
    alerts: list[AlertRoute] = Field(default_factory=list)
    paused: bool = Field(
        default=False, strict=True, description="Hold at the current weight while true."
    )
    on_delete: DeletePolicy = Field(
        default=DeletePolicy.ROLLBACK,
        description="What deleting the shift while its canary has traffic does: rollback (send "
        "the route back to stable, with an Event and an alert, then let the delete finish) or "
        "keep (leave the route as it is).",
    )

    @field_validator("steps")
    @classmethod
    def _steps_are_a_ramp(cls, steps: list[int]) -> list[int]:
        for position, weight in enumerate(steps):
            if not 1 <= weight <= 100:
                raise ValueError(
                    f"steps[{position}] is {weight}: each step is a canary weight in percent, "
                    "from 1 to 100"
                )
            if position and weight <= steps[position - 1]:
                raise ValueError(
                    f"steps[{position}] is {weight}, not above steps[{position - 1}] "
                    f"({steps[position - 1]}): steps must strictly increase, e.g. [10, 25, 50, 100]"
                )
        return steps

    @model_validator(mode="after")
    def _distinct_subsets(self) -> Self:
        if self.stable == self.canary:
            raise ValueError(
                f"stable and canary are both '{self.stable}': the canary must be another subset"
            )
        return self


class ObjectMeta(ApiModel):
    """The part of Kubernetes metadata weightgate reads; the rest passes through untouched."""

    model_config = ConfigDict(extra="allow")

    name: ObjectName
    namespace: DnsLabel | None = None
    generation: int | None = None
    resource_version: str | None = None
    uid: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class TrafficShift(ApiModel):
    api_version: Literal["weightgate.dev/v1alpha1"] = Field(
        default="weightgate.dev/v1alpha1", alias="apiVersion"
    )
    kind: Literal["TrafficShift"] = "TrafficShift"
    metadata: ObjectMeta
    spec: TrafficShiftSpec
    status: TrafficShiftStatus | None = None

    @property
    def name(self) -> str:
        return self.metadata.name

    def to_manifest(self) -> dict[str, Any]:
        """The object as it goes on the wire (camelCase, durations as text, no empty status)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
