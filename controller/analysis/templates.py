"""The PromQL a gate runs: builtin queries as named templates, and safe rendering of custom ones.

Queries are data: every builtin gate's PromQL, and the canary request count that guards
``minRequests``, is one named template below, and tests assert on the exact rendered strings.
Builtins are filled with a `SubsetSelector`'s matchers and the window; custom gates fill their
``{{ variable }}`` placeholders with values that were validated as Kubernetes names first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from string import Template

from controller.analysis.selectors import (
    SelectorError,
    SubsetSelector,
    check_label_value,
    escape_label_value,
)
from controller.api.base import DNS_SUBDOMAIN_PATTERN
from controller.api.durations import format_duration
from controller.api.gates import BUILTIN_GATES, Gate

_REQUESTS = "istio_requests_total"
_DURATION_BUCKETS = "istio_request_duration_milliseconds_bucket"


def _latency(quantile: str) -> str:
    return (
        f"histogram_quantile({quantile}, "
        f"sum by (le) (rate({_DURATION_BUCKETS}{{$matchers}}[$window])))"
    )


# `or vector(0)` makes "no 5xx at all" a 0 rather than an empty result; the denominator stays
# bare so "no requests at all" is still empty (or NaN when the series exist but are idle).
BUILTIN_TEMPLATES: dict[str, str] = {
    "error-rate": (
        f'100 * (sum(rate({_REQUESTS}{{$matchers,response_code=~"5.."}}[$window])) or vector(0))'
        f" / sum(rate({_REQUESTS}{{$matchers}}[$window]))"
    ),
    "latency-p50": _latency("0.5"),
    "latency-p90": _latency("0.9"),
    "latency-p99": _latency("0.99"),
}
REQUEST_COUNT_TEMPLATE = f"sum(increase({_REQUESTS}{{$matchers}}[$window]))"

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_DNS_SUBDOMAIN = re.compile(DNS_SUBDOMAIN_PATTERN)


class TemplateError(ValueError):
    """A gate whose query cannot be rendered; the message names the gate and the fix."""


@dataclass(frozen=True)
class ShiftVariables:
    """Template variables fixed by the TrafficShift itself (the rest come from the selectors).

    `namespace` is the TrafficShift's namespace, which may differ from the selectors'
    destination_workload_namespace when ``analysis.target.namespace`` overrides it.
    """

    namespace: str
    virtual_service: str

    def __post_init__(self) -> None:
        check_label_value(self.namespace, field="namespace")
        if len(self.virtual_service) > 253 or not _DNS_SUBDOMAIN.match(self.virtual_service):
            raise SelectorError(
                f"virtualService is {self.virtual_service!r}, which is not a valid Kubernetes "
                "object name: use lowercase letters, digits, '-' and '.' (e.g. 'reviews')"
            )


def promql_range(window: timedelta) -> str:
    """`window` as a PromQL range duration, e.g. ``1m`` or ``1h30m``."""
    if window.total_seconds() < 1:
        raise TemplateError(f"analysis window {window} is below 1s: use at least '1s'")
    return format_duration(window)


def render_builtin(name: str, subject: SubsetSelector, window: timedelta) -> str:
    """The PromQL of builtin gate `name`, measured on `subject`'s requests."""
    template = BUILTIN_TEMPLATES.get(name)
    if template is None:
        raise TemplateError(
            f"'{name}' is not a builtin gate: builtins are {', '.join(BUILTIN_GATES)}"
        )
    return _fill(template, subject, window)


def render_request_count(subject: SubsetSelector, window: timedelta) -> str:
    """The PromQL counting `subject`'s requests over `window`."""
    return _fill(REQUEST_COUNT_TEMPLATE, subject, window)


def custom_values(
    variables: ShiftVariables,
    *,
    canary: SubsetSelector,
    stable: SubsetSelector,
    subject: SubsetSelector,
    window: timedelta,
) -> dict[str, str]:
    """Every ``TEMPLATE_VARIABLES`` value for judging `subject` (the canary, or the stable side)."""
    return {
        "namespace": variables.namespace,
        "service": subject.service,
        "virtualService": variables.virtual_service,
        "canary": canary.version,
        "stable": stable.version,
        "version": subject.version,
        "window": promql_range(window),
    }


def render_custom(gate_name: str, template: str, values: dict[str, str]) -> str:
    """`template` with each ``{{ name }}`` replaced by its escaped value."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise TemplateError(
                f"gate '{gate_name}' uses unknown template variable {{{{ {name} }}}}: "
                f"use one of {', '.join(values)}"
            )
        return escape_label_value(values[name])

    return _PLACEHOLDER.sub(substitute, template)


def render_gate(
    gate: Gate,
    *,
    subject: SubsetSelector,
    canary: SubsetSelector,
    stable: SubsetSelector,
    window: timedelta,
    variables: ShiftVariables,
) -> str:
    """The PromQL judging `gate` on `subject` (the canary, or the stable side)."""
    if gate.query is not None:
        values = custom_values(
            variables, canary=canary, stable=stable, subject=subject, window=window
        )
        return render_custom(gate.name, gate.query, values)
    if gate.is_builtin:
        return render_builtin(gate.name, subject, window)
    raise TemplateError(
        f"gate '{gate.name}' has no query and is not a builtin gate: add a PromQL query, or use "
        f"one of {', '.join(BUILTIN_GATES)}"
    )


def _fill(template: str, subject: SubsetSelector, window: timedelta) -> str:
    return Template(template).substitute(matchers=subject.matchers(), window=promql_range(window))
