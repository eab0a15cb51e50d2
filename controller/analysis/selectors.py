"""Which telemetry belongs to a subset: the Istio label matchers for the canary and stable sides.

Owns `SubsetSelector` (the four Istio labels that pick one subset's requests out of
``istio_requests_total`` and ``istio_request_duration_milliseconds``) and the rules that derive
the canary and stable selectors from a TrafficShift. Every value is checked against the
Kubernetes label-value grammar before it can reach a query, so a resource name can never inject
PromQL; rendering escapes the values anyway, as a second line of defence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from controller.api.trafficshift import TrafficShiftSpec

LABEL_VALUE_PATTERN = r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
_LABEL_VALUE = re.compile(LABEL_VALUE_PATTERN)
MAX_LABEL_VALUE_LENGTH = 63
# Istio copies the workload's `version` pod label into destination_version.
VERSION_LABEL = "version"


class SelectorError(ValueError):
    """A value that cannot be put into a PromQL label matcher; the message says which and why."""


def check_label_value(value: str, *, field: str) -> str:
    """`value` unchanged when it is a valid Kubernetes label value, else SelectorError."""
    if len(value) > MAX_LABEL_VALUE_LENGTH or not _LABEL_VALUE.match(value):
        raise SelectorError(
            f"{field} is {value!r}, which is not a valid Kubernetes name or label value: use at "
            f"most {MAX_LABEL_VALUE_LENGTH} letters, digits, '-', '_' and '.', starting and "
            "ending with a letter or digit (e.g. 'v3')"
        )
    return value


def escape_label_value(value: str) -> str:
    """`value` as the inside of a double-quoted PromQL string."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass(frozen=True)
class SubsetSelector:
    """The Istio labels that select the requests served by one subset of one service."""

    service: str
    namespace: str
    version: str
    reporter: str = "destination"

    def __post_init__(self) -> None:
        check_label_value(self.service, field="destination_service_name (service)")
        check_label_value(self.namespace, field="destination_workload_namespace (namespace)")
        check_label_value(self.version, field="destination_version (version)")
        check_label_value(self.reporter, field="reporter")

    def matchers(self) -> str:
        """The label matchers, comma-separated, without braces (so callers can add more)."""
        pairs = (
            ("reporter", self.reporter),
            ("destination_service_name", self.service),
            ("destination_workload_namespace", self.namespace),
            ("destination_version", self.version),
        )
        return ",".join(f'{name}="{escape_label_value(value)}"' for name, value in pairs)

    def describe(self) -> str:
        return f"{self.service}/{self.version} in {self.namespace}"


@dataclass(frozen=True)
class SubsetSelectors:
    canary: SubsetSelector
    stable: SubsetSelector


def service_short_name(host: str) -> str:
    """`reviews` for `reviews`, `reviews.bookinfo` or `reviews.bookinfo.svc.cluster.local`."""
    return host.split(".", 1)[0]


def subset_version(subset: str, labels: Mapping[str, str]) -> str:
    """The destination_version Istio reports for a subset: its `version` label, else its name."""
    label = labels.get(VERSION_LABEL)
    if label:
        return check_label_value(
            label, field=f"the '{VERSION_LABEL}' label of DestinationRule subset '{subset}'"
        )
    return subset


def shift_selectors(
    spec: TrafficShiftSpec,
    *,
    namespace: str,
    host: str,
    subset_labels: Mapping[str, Mapping[str, str]],
) -> SubsetSelectors:
    """The canary and stable selectors of a shift.

    `namespace` is the TrafficShift's, `host` the managed destination host (spec.host, or the
    VirtualService's first host when unset), `subset_labels` the DestinationRule labels of each
    subset by name (missing or empty when there is no DestinationRule).
    ``spec.analysis.target`` overrides win over every derived value.
    """
    target = spec.analysis.target
    service = target.service or service_short_name(host)
    workload_namespace = target.namespace or namespace
    canary_version = target.canary_version or subset_version(
        spec.canary, subset_labels.get(spec.canary, {})
    )
    stable_version = target.stable_version or subset_version(
        spec.stable, subset_labels.get(spec.stable, {})
    )
    return SubsetSelectors(
        canary=SubsetSelector(
            service=service, namespace=workload_namespace, version=canary_version
        ),
        stable=SubsetSelector(
            service=service, namespace=workload_namespace, version=stable_version
        ),
    )
