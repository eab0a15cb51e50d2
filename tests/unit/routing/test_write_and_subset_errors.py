"""RoutingErrors of the weight writers and DestinationRule checks name the path and the fix."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from controller.routing import (
    ManagedRoute,
    RoutingError,
    check_subsets,
    promote,
    read_canary_weight,
    rollback,
    set_canary_weight,
    subset_labels,
)
from tests.unit.routing.builders import dest, dr, header_match, http, vs
from tests.unit.routing.error_case import Case, assert_names_path_and_fix

STABLE, CANARY = "v1", "v3"
UNNAMED_0 = ManagedRoute(index=0, name=None, host="reviews")
V1 = vs(http(dest("v1")))


def set_weight(spec: dict[str, Any], weight: Any, managed: ManagedRoute = UNNAMED_0) -> Any:
    return lambda: set_canary_weight(spec, managed, stable=STABLE, canary=CANARY, weight=weight)


def route_weights_of(spec: dict[str, Any], managed: ManagedRoute) -> int:
    return read_canary_weight(spec, managed, stable=STABLE, canary=CANARY)


OPERATION_CASES = [
    pytest.param(
        Case(
            lambda: route_weights_of(V1, ManagedRoute(3, None, "reviews")),
            "spec.http[3]",
            "nothing was written",
            "is gone",
        ),
        id="stale-index",
    ),
    pytest.param(
        Case(
            lambda: rollback(
                vs(http(dest("v1"), name="other")),
                ManagedRoute(0, "main", "reviews"),
                stable=STABLE,
            ),
            "spec.http[0].name",
            "update spec.route in the TrafficShift",
            "found spec.http[0] (name 'other')",
        ),
        id="stale-name-refuses-even-rollback",
    ),
    pytest.param(
        Case(
            lambda: promote(
                vs(http(dest("v1"), match=header_match("a"))), UNNAMED_0, canary=CANARY
            ),
            "spec.http[0].match",
            "nothing was written",
            "found a route with `match`",
        ),
        id="stale-unnamed-route-now-matches",
    ),
    pytest.param(
        Case(set_weight(V1, 101), "spec.steps", "integer weights from 0 to 100", "101"),
        id="weight-above-100",
    ),
    pytest.param(
        Case(set_weight(V1, -1), "spec.steps", "integer weights from 0 to 100", "-1"),
        id="weight-negative",
    ),
    pytest.param(
        Case(set_weight(V1, 50.0), "spec.steps", "integer weights from 0 to 100", "50.0"),
        id="weight-float",
    ),
    pytest.param(
        Case(set_weight(V1, True), "spec.steps", "integer weights from 0 to 100", "True"),
        id="weight-bool",
    ),
    pytest.param(
        Case(
            set_weight(vs(http(dest("v1", 80), dest("v2", 20))), 10),
            "spec.http[0].route",
            "move that traffic onto 'v1'",
            "two-way split",
        ),
        id="set-weight-refuses-third-subset",
    ),
]

SUBSET_CASES = [
    pytest.param(
        Case(
            lambda: check_subsets(dr("v1", "v2"), ["v1", "v3", "v4"], dr_name="reviews"),
            "spec.subsets",
            "add subset v3, v4",
            "the subsets that exist are: v1, v2",
        ),
        id="subsets-missing",
    ),
    pytest.param(
        Case(
            lambda: check_subsets({"subsets": {"v1": {}}}, ["v1"], dr_name="reviews"),
            "spec.subsets",
            "make spec.subsets a list",
            "expected a list",
        ),
        id="subsets-not-a-list",
    ),
    pytest.param(
        Case(
            lambda: check_subsets(
                {"subsets": [{"name": "v1"}, {"labels": {}}]}, ["v1"], dr_name="reviews"
            ),
            "spec.subsets[1].name",
            "give every subset a `name`",
            "no name",
        ),
        id="subset-without-name",
    ),
    pytest.param(
        Case(
            lambda: subset_labels(dr("v1"), "v3", dr_name="reviews"),
            "spec.subsets",
            "set spec.stable/spec.canary in the TrafficShift to subsets it has: v1",
            "no subset named v3",
        ),
        id="labels-of-missing-subset",
    ),
    pytest.param(
        Case(
            lambda: subset_labels(
                {"subsets": [{"name": "v1", "labels": {"version": 1}}]}, "v1", dr_name="reviews"
            ),
            "spec.subsets[0].labels",
            "quote numbers",
            "not a map of strings",
        ),
        id="labels-not-strings",
    ),
]


@pytest.mark.parametrize("case", OPERATION_CASES + SUBSET_CASES)
def test_write_and_subset_error_names_path_and_fix(case: Case) -> None:
    assert_names_path_and_fix(case)


def test_routing_error_is_a_value_error_that_survives_pickling() -> None:
    error = RoutingError("bad", path="spec.http", fix="do this")
    copied = pickle.loads(pickle.dumps(error))
    assert isinstance(error, ValueError)
    assert (str(copied), copied.path, copied.fix) == (str(error), "spec.http", "do this")
