"""Gate definitions: the builtin Istio gates, custom PromQL gates, and their thresholds.

A gate is a named check on one number that Prometheus returns for the canary. Builtin gates
(`error-rate`, `latency-p50|p90|p99`) have their PromQL in ``controller.analysis``; a custom gate
carries a PromQL template here. Thresholds are absolute (``max``/``min``) or relative to the
stable subset measured the same way (``maxOverStable``, ``maxRatioToStable``). Critical
thresholds (``criticalMax``, ``criticalMin``) are absolute bounds beyond which one check is enough
evidence: the shift rolls back at once instead of waiting for ``failureLimit`` failed checks.

This module validates shape only; rendering and querying live in ``controller.analysis``.
"""

from __future__ import annotations

import re
from typing import Self

from pydantic import Field, ValidationInfo, field_validator, model_validator

from controller.api.base import ApiModel, DnsLabel

BUILTIN_GATES: dict[str, str] = {
    "error-rate": "percent of canary requests answered 5xx",
    "latency-p50": "median canary request duration, milliseconds",
    "latency-p90": "90th percentile canary request duration, milliseconds",
    "latency-p99": "99th percentile canary request duration, milliseconds",
}

# Variables a custom query may use. `version` is the version label of the subset being judged
# (the canary, or the stable subset for a relative threshold); the others are fixed per shift.
TEMPLATE_VARIABLES: dict[str, str] = {
    "namespace": "namespace of the TrafficShift and its VirtualService",
    "service": "destination service name (Istio's destination_service_name)",
    "virtualService": "name of the managed VirtualService",
    "canary": "version label of the canary subset",
    "stable": "version label of the stable subset",
    "version": "version label of the subset being judged (canary, or stable for relative gates)",
    "window": "the analysis window as a PromQL range, e.g. 1m",
}
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def template_variables(query: str) -> list[str]:
    """Names used as ``{{ name }}`` in a query template, in order of appearance."""
    return [m.group(1) for m in _PLACEHOLDER.finditer(query)]


def _check_template(query: str) -> str:
    if not query.strip():
        raise ValueError("query is empty: write the PromQL to evaluate, or drop the field")
    unknown = [name for name in template_variables(query) if name not in TEMPLATE_VARIABLES]
    if unknown:
        allowed = ", ".join(f"{{{{ {n} }}}}" for n in TEMPLATE_VARIABLES)
        raise ValueError(f"unknown template variable {{{{ {unknown[0]} }}}}: use one of {allowed}")
    leftover = _PLACEHOLDER.sub("", query)
    if "{{" in leftover or "}}" in leftover:
        raise ValueError(
            "unbalanced '{{' or '}}' in query: template variables are written '{{ canary }}'"
        )
    return query


class Gate(ApiModel):
    """One check. With no ``query`` it must be a builtin gate (or one a profile defines)."""

    name: DnsLabel = Field(description="Gate name; a builtin name or your own for custom PromQL.")
    query: str | None = Field(
        default=None,
        description="Custom PromQL template returning one number; variables: "
        + ", ".join(f"{{{{ {n} }}}}" for n in TEMPLATE_VARIABLES),
    )
    error_query: str | None = Field(
        default=None,
        description="Count gate: PromQL template returning the cumulative count of bad requests "
        "(a sum of counters, not a rate); with totalQuery, judged sequentially on the share "
        "errorQuery/totalQuery in percent.",
    )
    total_query: str | None = Field(
        default=None,
        description="Count gate: PromQL template returning the cumulative count of all requests.",
    )
    max: float | None = Field(
        default=None, strict=True, description="Fail when the value is above this."
    )
    min: float | None = Field(
        default=None, strict=True, description="Fail when the value is below this."
    )
    max_over_stable: float | None = Field(
        default=None,
        strict=True,
        ge=0,
        description="Fail when the canary exceeds the stable subset's value by more than this.",
    )
    max_ratio_to_stable: float | None = Field(
        default=None,
        strict=True,
        gt=0,
        description="Fail when the canary's value is more than this times the stable subset's.",
    )
    critical_max: float | None = Field(
        default=None,
        strict=True,
        description="Roll back on the first check whose value is above this, without waiting "
        "for failureLimit; at least max when both are set.",
    )
    critical_min: float | None = Field(
        default=None,
        strict=True,
        description="Roll back on the first check whose value is below this, without waiting "
        "for failureLimit; at most min when both are set.",
    )

    @field_validator("query", "error_query", "total_query")
    @classmethod
    def _query_is_a_valid_template(cls, value: str | None) -> str | None:
        return None if value is None else _check_template(value)

    # Field validators (not the model validator) so the error points at the critical field;
    # max and min are declared earlier, so they are already in `info.data` when valid.
    @field_validator("critical_max")
    @classmethod
    def _critical_max_beyond_max(cls, value: float | None, info: ValidationInfo) -> float | None:
        limit = info.data.get("max")
        if value is not None and limit is not None and value < limit:
            raise ValueError(
                f"criticalMax ({value:g}) is below max ({limit:g}): a value between them would "
                f"roll back at once yet pass the gate; set criticalMax to at least {limit:g}, or "
                "lower max"
            )
        return value

    @field_validator("critical_min")
    @classmethod
    def _critical_min_beyond_min(cls, value: float | None, info: ValidationInfo) -> float | None:
        limit = info.data.get("min")
        if value is not None and limit is not None and value > limit:
            raise ValueError(
                f"criticalMin ({value:g}) is above min ({limit:g}): a value between them would "
                f"roll back at once yet pass the gate; set criticalMin to at most {limit:g}, or "
                "raise min"
            )
        critical_max = info.data.get("critical_max")
        if value is not None and critical_max is not None and value > critical_max:
            raise ValueError(
                f"criticalMin ({value:g}) is above criticalMax ({critical_max:g}): every value "
                "would break one of them and roll back; swap them"
            )
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.query is not None and self.name in BUILTIN_GATES:
            raise ValueError(
                f"gate '{self.name}' is a builtin gate and cannot take a query: give your "
                "custom gate another name, or drop the query to use the builtin"
            )
        _check_count_gate(self)
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(
                f"min ({self.min}) is above max ({self.max}): no value could pass; swap them"
            )
        _check_critical_against_the_other_bound(self)
        if (
            self.is_relative
            and self.query is not None
            and "version" not in template_variables(self.query)
        ):
            raise ValueError(
                "a relative threshold (maxOverStable/maxRatioToStable) needs the query to "
                "select the subset with {{ version }} so it can be measured on both subsets"
            )
        return self

    @property
    def is_count(self) -> bool:
        """A count gate: errorQuery and totalQuery, judged sequentially on their ratio."""
        return self.error_query is not None

    @property
    def is_relative(self) -> bool:
        return self.max_over_stable is not None or self.max_ratio_to_stable is not None

    @property
    def has_critical(self) -> bool:
        return self.critical_max is not None or self.critical_min is not None

    @property
    def has_threshold(self) -> bool:
        return self.is_relative or self.max is not None or self.min is not None or self.has_critical

    @property
    def is_builtin(self) -> bool:
        return self.name in BUILTIN_GATES


def _check_count_gate(gate: Gate) -> None:
    """errorQuery and totalQuery come together, alone, with upper bounds only."""
    if (gate.error_query is None) != (gate.total_query is None):
        raise ValueError(
            f"gate '{gate.name}' sets only one of errorQuery and totalQuery: a count gate needs "
            "both (bad requests and all requests, as cumulative counters)"
        )
    if gate.error_query is None:
        return
    if gate.query is not None or gate.name in BUILTIN_GATES:
        raise ValueError(
            f"gate '{gate.name}' has errorQuery/totalQuery: it cannot also be a builtin gate or "
            "have a query; use a new name and either query or errorQuery+totalQuery"
        )
    if gate.min is not None or gate.critical_min is not None or gate.critical_max is not None:
        raise ValueError(
            f"count gate '{gate.name}' is judged sequentially on the share of bad requests: "
            "use max, maxOverStable or maxRatioToStable (percent), not min/criticalMin/criticalMax"
        )
    for field, query in (("errorQuery", gate.error_query), ("totalQuery", gate.total_query)):
        if gate.is_relative and "version" not in template_variables(query or ""):
            raise ValueError(
                f"count gate '{gate.name}' has a relative threshold, so its {field} must select "
                "the subset with {{ version }} to be measured on both subsets"
            )


def _check_critical_against_the_other_bound(gate: Gate) -> None:
    """A critical bound on the far side of the other passing bound leaves nothing to pass."""
    if gate.critical_max is not None and gate.min is not None and gate.critical_max < gate.min:
        raise ValueError(
            f"criticalMax ({gate.critical_max:g}) is below min ({gate.min:g}): every value that "
            "passes min would roll back at once; raise criticalMax above min"
        )
    if gate.critical_min is not None and gate.max is not None and gate.critical_min > gate.max:
        raise ValueError(
            f"criticalMin ({gate.critical_min:g}) is above max ({gate.max:g}): every value that "
            "passes max would roll back at once; lower criticalMin below max"
        )


def missing_threshold_message(name: str) -> str:
    return (
        f"gate '{name}' has no threshold: set max, min, maxOverStable, maxRatioToStable, "
        "criticalMax or criticalMin (e.g. max: 1 for an error rate of at most 1%)"
    )


def unknown_gate_message(name: str, known: list[str]) -> str:
    from difflib import get_close_matches  # noqa: PLC0415 - only needed on this error path

    close = get_close_matches(name, known, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return (
        f"unknown gate '{name}': builtin gates are {', '.join(BUILTIN_GATES)}, and the profile "
        f"defines {', '.join(sorted(set(known) - set(BUILTIN_GATES))) or 'none'}.{hint} "
        "For a custom gate, add a query."
    )


def merge_gates(profile_gates: list[Gate], overrides: list[Gate]) -> list[Gate]:
    """Profile gates overridden by name, then added gates, in a stable order.

    An override with no query keeps the profile gate's query, so ``{name: saturation, max: 0.9}``
    re-tunes a custom profile gate without restating its PromQL. Thresholds, the critical ones
    included, are replaced as a set: an override states every bound the gate keeps, so a
    profile's ``criticalMax`` never lingers above an override's new ``max``.
    """
    merged: dict[str, Gate] = {g.name: g for g in profile_gates}
    for gate in overrides:
        base = merged.get(gate.name)
        if base is not None and gate.query is None and base.query is not None:
            gate = gate.model_copy(update={"query": base.query})  # noqa: PLW2901 - inherit the query
        if base is not None and not gate.is_count and base.is_count and gate.query is None:
            inherited = {"error_query": base.error_query, "total_query": base.total_query}
            gate = gate.model_copy(update=inherited)  # noqa: PLW2901 - inherit the count queries
        merged[gate.name] = gate
    return list(merged.values())
