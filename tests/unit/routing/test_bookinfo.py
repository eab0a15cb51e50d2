"""Acceptance: Istio's bookinfo traffic-shifting task, v1 -> 50/50 v1/v3 -> v3, and back."""

from __future__ import annotations

from typing import Any

import pytest

from controller.routing import (
    check_subsets,
    find_managed_route,
    promote,
    read_canary_weight,
    rollback,
    route_patch,
    set_canary_weight,
    subset_labels,
)
from controller.sandbox.apiserver.patching import json_patch
from tests.unit.routing.istio_fixtures import bookinfo_doc, needs_istio_fixtures, vs_spec_validator

pytestmark = needs_istio_fixtures

STABLE, CANARY = "v1", "v3"


@pytest.fixture
def all_v1() -> dict[str, Any]:
    return bookinfo_doc("virtual-service-all-v1.yaml", "reviews")


def _spec(file_name: str) -> dict[str, Any]:
    spec: dict[str, Any] = bookinfo_doc(file_name, "reviews")["spec"]
    return spec


def _assert_valid(spec: dict[str, Any]) -> None:
    errors = [e.message for e in vs_spec_validator().iter_errors(spec)]
    assert errors == []


def test_weight_50_gives_istio_50_v3_sample(all_v1: dict[str, Any]) -> None:
    spec = all_v1["spec"]
    managed = find_managed_route(spec, stable=STABLE, canary=CANARY)
    half = set_canary_weight(spec, managed, stable=STABLE, canary=CANARY, weight=50)
    assert half == _spec("virtual-service-reviews-50-v3.yaml")
    _assert_valid(half)


def test_promote_gives_istio_v3_sample(all_v1: dict[str, Any]) -> None:
    spec = all_v1["spec"]
    managed = find_managed_route(spec, stable=STABLE, canary=CANARY)
    half = set_canary_weight(spec, managed, stable=STABLE, canary=CANARY, weight=50)
    promoted = promote(half, managed, canary=CANARY)
    assert promoted == _spec("virtual-service-reviews-v3.yaml")
    _assert_valid(promoted)


def test_rollback_from_50_gives_the_original(all_v1: dict[str, Any]) -> None:
    spec = all_v1["spec"]
    managed = find_managed_route(spec, stable=STABLE, canary=CANARY)
    half = set_canary_weight(spec, managed, stable=STABLE, canary=CANARY, weight=50)
    rolled_back = rollback(half, managed, stable=STABLE)
    assert rolled_back == spec
    _assert_valid(rolled_back)


def test_rollback_from_promoted_gives_the_original(all_v1: dict[str, Any]) -> None:
    spec = all_v1["spec"]
    managed = find_managed_route(spec, stable=STABLE, canary=CANARY)
    assert rollback(promote(spec, managed, canary=CANARY), managed, stable=STABLE) == spec


@pytest.mark.parametrize("weight", [0, 1, 10, 50, 99, 100])
def test_every_step_validates_against_istio_schema(all_v1: dict[str, Any], weight: int) -> None:
    spec = all_v1["spec"]
    managed = find_managed_route(spec, stable=STABLE, canary=CANARY)
    stepped = set_canary_weight(spec, managed, stable=STABLE, canary=CANARY, weight=weight)
    _assert_valid(stepped)
    assert read_canary_weight(stepped, managed, stable=STABLE, canary=CANARY) == weight


def test_schema_check_rejects_a_misspelt_weight() -> None:
    """The validator is strict enough to matter: `weigth` is an unknown field."""
    spec = _spec("virtual-service-reviews-50-v3.yaml")
    spec["http"][0]["route"][0]["weigth"] = spec["http"][0]["route"][0].pop("weight")
    assert not vs_spec_validator().is_valid(spec)


def test_managed_route_is_found_at_every_stage_of_the_task() -> None:
    """The route found in v1, 50/50 and v3 is the same one, with the canary weight read back."""
    stages = {
        "virtual-service-all-v1.yaml": 0,
        "virtual-service-reviews-50-v3.yaml": 50,
        "virtual-service-reviews-v3.yaml": 100,
    }
    for file_name, expected in stages.items():
        spec = _spec(file_name)
        managed = find_managed_route(spec, stable=STABLE, canary=CANARY)
        assert (managed.index, managed.name, managed.host) == (0, None, "reviews")
        assert read_canary_weight(spec, managed, stable=STABLE, canary=CANARY) == expected


def test_route_patch_turns_all_v1_into_50_v3(all_v1: dict[str, Any]) -> None:
    managed = find_managed_route(all_v1["spec"], stable=STABLE, canary=CANARY)
    half = set_canary_weight(all_v1["spec"], managed, stable=STABLE, canary=CANARY, weight=50)
    patched = json_patch(all_v1, route_patch(all_v1["spec"], half, managed))
    assert patched == {**all_v1, "spec": _spec("virtual-service-reviews-50-v3.yaml")}


def test_bookinfo_destination_rule_has_both_subsets_and_their_labels() -> None:
    rule = bookinfo_doc("destination-rule-reviews.yaml", "reviews", kind="DestinationRule")
    check_subsets(rule["spec"], [STABLE, CANARY], dr_name="reviews")
    assert subset_labels(rule["spec"], CANARY, dr_name="reviews") == {"version": "v3"}
