"""DestinationRule subsets: checking that a shift's subsets exist and reading their labels.

A VirtualService that routes to a subset the DestinationRule lacks makes Envoy answer 503 for that
share of traffic, so a shift checks both subsets before its first write. The labels tell the
analysis which workload a subset is (Istio's `destination_version` comes from `version`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from controller.routing.errors import RoutingError


def check_subsets(dr_spec: Mapping[str, Any], subsets: Iterable[str], *, dr_name: str) -> None:
    """RoutingError naming the missing subsets and those that exist, unless all `subsets` exist."""
    defined = _subsets(dr_spec, dr_name)
    missing = [subset for subset in dict.fromkeys(subsets) if subset not in defined]
    if missing:
        raise _missing(missing, defined, dr_name)


def subset_labels(
    dr_spec: Mapping[str, Any], subset: str, *, dr_name: str = "(unnamed)"
) -> dict[str, str]:
    """The pod labels that select `subset` (empty when the subset sets none)."""
    defined = _subsets(dr_spec, dr_name)
    if subset not in defined:
        raise _missing([subset], defined, dr_name)
    labels = defined[subset].get("labels") or {}
    path = f"spec.subsets[{list(defined).index(subset)}].labels"
    if not isinstance(labels, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in labels.items()
    ):
        raise RoutingError(
            "the labels are not a map of strings to strings",
            obj=f"DestinationRule {dr_name}",
            path=path,
            fix="write the subset's labels as `key: value` strings (quote numbers)",
        )
    return dict(labels)


def _subsets(dr_spec: Mapping[str, Any], dr_name: str) -> dict[str, Mapping[str, Any]]:
    raw = dr_spec.get("subsets") or []
    if not isinstance(raw, list):
        raise RoutingError(
            f"expected a list of subsets, found {type(raw).__name__}",
            obj=f"DestinationRule {dr_name}",
            path="spec.subsets",
            fix="make spec.subsets a list of {name, labels} entries",
        )
    defined: dict[str, Mapping[str, Any]] = {}
    for index, subset in enumerate(raw):
        if not isinstance(subset, Mapping) or not isinstance(subset.get("name"), str):
            raise RoutingError(
                "the subset has no name",
                obj=f"DestinationRule {dr_name}",
                path=f"spec.subsets[{index}].name",
                fix="give every subset a `name`",
            )
        defined.setdefault(subset["name"], subset)
    return defined


def _missing(missing: list[str], defined: Mapping[str, Any], dr_name: str) -> RoutingError:
    existing = ", ".join(defined) or "none"
    return RoutingError(
        f"no subset named {', '.join(missing)}; the subsets that exist are: {existing}",
        obj=f"DestinationRule {dr_name}",
        path="spec.subsets",
        fix=f"add subset {', '.join(missing)} (with the pods' labels, e.g. version) to "
        f"DestinationRule {dr_name}, or set spec.stable/spec.canary in the TrafficShift to "
        f"subsets it has: {existing}",
    )
