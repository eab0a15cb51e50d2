"""The route patch writes only the managed route; DestinationRule subset checks and labels.

Patches are applied with the sandbox API server's own JSON patch code, so they are checked by the
code that applies them in the integration tests and the demo.
"""

from __future__ import annotations

from typing import Any

import pytest

from controller.routing import (
    ManagedRoute,
    check_subsets,
    route_patch,
    set_canary_weight,
    subset_labels,
)
from controller.sandbox.apiserver.errors import ApiError
from controller.sandbox.apiserver.patching import json_patch
from tests.unit.routing.builders import dest, dr, header_match, http, vs

MANAGED = ManagedRoute(index=1, name=None, host="reviews")


def vs_object(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": "bookinfo"},
        "spec": spec,
    }


def two_routes() -> dict[str, Any]:
    return vs(http(dest("v2"), match=header_match("jason")), http(dest("v1")))


def test_patch_tests_the_old_route_then_replaces_it() -> None:
    old = two_routes()
    new = set_canary_weight(old, MANAGED, stable="v1", canary="v3", weight=10)
    assert route_patch(old, new, MANAGED) == [
        {"op": "test", "path": "/spec/http/1/route", "value": [dest("v1")]},
        {"op": "replace", "path": "/spec/http/1/route", "value": [dest("v1", 90), dest("v3", 10)]},
    ]


def test_patch_is_refused_when_the_live_route_changed_meanwhile() -> None:
    old = two_routes()
    new = set_canary_weight(old, MANAGED, stable="v1", canary="v3", weight=10)
    live = vs_object(two_routes())
    live["spec"]["http"][1]["route"][0]["destination"]["subset"] = "v2"
    with pytest.raises(ApiError) as refused:
        json_patch(live, route_patch(old, new, MANAGED))
    assert refused.value.code == 422


def test_patch_leaves_edits_elsewhere_in_the_live_object_alone() -> None:
    old = two_routes()
    new = set_canary_weight(old, MANAGED, stable="v1", canary="v3", weight=10)
    live = vs_object(two_routes())
    live["spec"]["http"][0]["timeout"] = "5s"
    patched = json_patch(live, route_patch(old, new, MANAGED))
    assert patched["spec"]["http"][0]["timeout"] == "5s"
    assert patched["spec"]["http"][1]["route"] == new["http"][1]["route"]


def test_patch_refuses_specs_that_differ_outside_the_managed_route() -> None:
    old = two_routes()
    new = set_canary_weight(old, MANAGED, stable="v1", canary="v3", weight=10)
    new["http"][0]["timeout"] = "5s"
    with pytest.raises(ValueError, match=r"differ outside spec\.http\[1\]\.route"):
        route_patch(old, new, MANAGED)


def test_check_subsets_passes_when_all_exist() -> None:
    check_subsets(dr("v1", "v2", "v3"), ["v1", "v3", "v1"], dr_name="reviews")


def test_subset_labels_returns_a_copy() -> None:
    rule = dr("v1", "v3")
    labels = subset_labels(rule, "v3")
    labels["version"] = "changed"
    assert subset_labels(rule, "v3") == {"version": "v3"}


def test_subset_without_labels_has_none() -> None:
    assert subset_labels({"subsets": [{"name": "v1"}]}, "v1") == {}
