"""Gate profiles: named, reusable sets of gates an SRE tunes once (config/gates/*.yaml).

A TrafficShift names a profile in ``spec.analysis.profile`` and may add or override gates by
name. Profiles are validated by the same models as TrafficShifts.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from controller.api.base import ApiModel, DnsLabel
from controller.api.gates import BUILTIN_GATES, Gate, missing_threshold_message


class ProfileMetadata(ApiModel):
    name: DnsLabel


class GateProfileSpec(ApiModel):
    description: str = ""
    gates: list[Gate] = Field(min_length=1)

    @model_validator(mode="after")
    def _gates_complete(self) -> Self:
        seen: set[str] = set()
        for gate in self.gates:
            if gate.name in seen:
                raise ValueError(f"gate '{gate.name}' is listed twice: keep one entry per name")
            seen.add(gate.name)
            if gate.query is None and not gate.is_count and gate.name not in BUILTIN_GATES:
                raise ValueError(
                    f"gate '{gate.name}' is not builtin and has no query: add a query, or use "
                    f"one of {', '.join(BUILTIN_GATES)}"
                )
            if not gate.has_threshold:
                raise ValueError(missing_threshold_message(gate.name))
        return self


class GateProfile(ApiModel):
    api_version: Literal["weightgate.dev/v1alpha1"] = Field(
        default="weightgate.dev/v1alpha1", alias="apiVersion"
    )
    kind: Literal["GateProfile"] = "GateProfile"
    metadata: ProfileMetadata
    spec: GateProfileSpec

    @property
    def name(self) -> str:
        return self.metadata.name
