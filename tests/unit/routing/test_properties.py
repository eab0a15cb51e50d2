"""Property tests: on any VirtualService, only the managed route's `route` ever changes."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.routing import (
    ManagedRoute,
    find_managed_route,
    promote,
    read_canary_weight,
    rollback,
    route_patch,
    route_weights,
    set_canary_weight,
)
from controller.sandbox.apiserver.patching import json_patch
from tests.unit.routing.istio_fixtures import needs_istio_fixtures, vs_spec_validator
from tests.unit.routing.strategies import CANARY, STABLE, Generated, virtual_services

weights = st.integers(min_value=0, max_value=100)


def found(generated: Generated) -> ManagedRoute:
    return find_managed_route(generated.spec, stable=STABLE, canary=CANARY)


def outside_route(spec: dict[str, Any], index: int) -> dict[str, Any]:
    """The spec with spec.http[index].route removed: everything routing must not touch."""
    stripped = copy.deepcopy(spec)
    del stripped["http"][index]["route"]
    return stripped


def as_object(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": "bookinfo", "resourceVersion": "7"},
        "spec": spec,
    }


def assert_only_route_changed(old: dict[str, Any], new: dict[str, Any], m: ManagedRoute) -> None:
    assert outside_route(new, m.index) == outside_route(old, m.index)
    patched = json_patch(as_object(old), route_patch(old, new, m))
    assert patched == as_object(new)


@given(virtual_services(), weights)
def test_the_managed_route_is_found_and_set_weight_changes_only_it(
    generated: Generated, weight: int
) -> None:
    spec = generated.spec
    before = copy.deepcopy(spec)
    managed = found(generated)
    assert managed == ManagedRoute(generated.index, generated.name, generated.host)
    if generated.name is not None:
        assert find_managed_route(spec, stable=STABLE, canary=CANARY, route="primary") == managed
    new = set_canary_weight(spec, managed, stable=STABLE, canary=CANARY, weight=weight)
    assert spec == before
    assert sum(route_weights(new, managed).values()) == 100
    assert read_canary_weight(new, managed, stable=STABLE, canary=CANARY) == weight
    assert [e["destination"]["subset"] for e in new["http"][managed.index]["route"]] == [
        STABLE,
        CANARY,
    ]
    assert_only_route_changed(spec, new, managed)
    assert find_managed_route(new, stable=STABLE, canary=CANARY) == managed


@given(virtual_services(), weights, weights)
def test_the_last_weight_set_wins(generated: Generated, first: int, second: int) -> None:
    managed = found(generated)
    once = set_canary_weight(generated.spec, managed, stable=STABLE, canary=CANARY, weight=second)
    stepped = set_canary_weight(generated.spec, managed, stable=STABLE, canary=CANARY, weight=first)
    twice = set_canary_weight(stepped, managed, stable=STABLE, canary=CANARY, weight=second)
    assert twice == once


@given(virtual_services(), weights)
def test_promote_and_rollback_change_only_the_managed_route(
    generated: Generated, weight: int
) -> None:
    spec = generated.spec
    before = copy.deepcopy(spec)
    managed = found(generated)
    shifted = set_canary_weight(spec, managed, stable=STABLE, canary=CANARY, weight=weight)
    for end, subset, canary_weight in (
        (promote(shifted, managed, canary=CANARY), CANARY, 100),
        (rollback(shifted, managed, stable=STABLE), STABLE, 0),
    ):
        (entry,) = end["http"][managed.index]["route"]
        assert entry["destination"]["subset"] == subset
        assert "weight" not in entry
        assert read_canary_weight(end, managed, stable=STABLE, canary=CANARY) == canary_weight
        assert find_managed_route(end, stable=STABLE, canary=CANARY) == managed
        assert_only_route_changed(shifted, end, managed)
    assert spec == before


@given(virtual_services(), weights)
def test_rollback_after_any_step_equals_rollback_before_it(
    generated: Generated, weight: int
) -> None:
    managed = found(generated)
    shifted = set_canary_weight(
        generated.spec, managed, stable=STABLE, canary=CANARY, weight=weight
    )
    assert rollback(shifted, managed, stable=STABLE) == rollback(
        generated.spec, managed, stable=STABLE
    )


@needs_istio_fixtures
@settings(deadline=None, max_examples=50)
@given(virtual_services(unknown_fields=False), weights)
def test_outputs_of_valid_specs_are_valid_for_istio(generated: Generated, weight: int) -> None:
    validator = vs_spec_validator()
    assert list(validator.iter_errors(generated.spec)) == []
    managed = found(generated)
    shifted = set_canary_weight(
        generated.spec, managed, stable=STABLE, canary=CANARY, weight=weight
    )
    for output in (
        shifted,
        promote(shifted, managed, canary=CANARY),
        rollback(shifted, managed, stable=STABLE),
    ):
        assert [e.message for e in validator.iter_errors(output)] == []
