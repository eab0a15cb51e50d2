"""Every RoutingError of find_managed_route names the field path and the fix (table-driven)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from controller.routing import find_managed_route
from tests.unit.routing.builders import dest, header_match, http, vs
from tests.unit.routing.error_case import Case, assert_names_path_and_fix

STABLE, CANARY = "v1", "v3"
V1 = vs(http(dest("v1")))


def find(spec: dict[str, Any], **kwargs: Any) -> Callable[[], object]:
    kwargs = {"stable": STABLE, "canary": CANARY, **kwargs}
    return lambda: find_managed_route(spec, **kwargs)


FIND_CASES = [
    pytest.param(
        Case(
            find(V1, canary="v1"),
            "spec.stable/spec.canary",
            "set spec.stable and spec.canary",
            "two different",
        ),
        id="stable-equals-canary",
    ),
    pytest.param(
        Case(find(vs(http(dest("v1")), hosts=[])), "spec.hosts", "set spec.host", "no hosts"),
        id="no-hosts-to-default-from",
    ),
    pytest.param(
        Case(
            find({"hosts": ["reviews"], "http": {"route": []}}),
            "spec.http",
            "make spec.http a list",
            "expected a list",
        ),
        id="http-not-a-list",
    ),
    pytest.param(
        Case(
            find({"hosts": ["reviews"], "http": ["reviews"]}),
            "spec.http[0]",
            "make every entry of spec.http an object",
            "expected an http route object",
        ),
        id="http-entry-not-an-object",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v1"), name="primary")), route="main"),
            "spec.http[*].name",
            "set spec.route in the TrafficShift to one of: 'primary'",
            "no http route is named",
        ),
        id="named-route-missing",
    ),
    pytest.param(
        Case(
            find(V1, route="main"),
            "spec.http[*].name",
            "set spec.route in the TrafficShift to that name",
            "no http route is named 'main'",
        ),
        id="named-route-missing-no-names",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v1"), name="a"), http(dest("v1"), name="a")), route="a"),
            "spec.http[*].name",
            "unique names",
            "2 http routes are named 'a'",
        ),
        id="named-route-twice",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v2")), http(dest("v1"), match=header_match("jason")))),
            "spec.http",
            "set spec.host in the TrafficShift",
            "spec.http[1] (unnamed) with match -> v1",
        ),
        id="no-candidate-host-defaulted",
    ),
    pytest.param(
        Case(
            find(V1, host="ratings"),
            "spec.http",
            "set spec.route in the TrafficShift",
            "no route sends to it",
        ),
        id="no-candidate-explicit-host",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v1"), name="primary"), http(dest("v3"), name="spare"))),
            "spec.http",
            "set spec.route in the TrafficShift to one of: 'primary', 'spare'",
            "2 http routes without `match`",
        ),
        id="several-candidates",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v1"), name="primary"), http(dest("v1")))),
            "spec.http",
            "give the unnamed routes a `name`",
            "spec.http[1] (unnamed)",
        ),
        id="several-candidates-some-unnamed",
    ),
    pytest.param(
        Case(
            find(
                {"hosts": ["reviews"], "http": [{"name": "r", "redirect": {"uri": "/x"}}]},
                route="r",
            ),
            "spec.http[0].route",
            "set spec.route in the TrafficShift",
            "no `route`",
        ),
        id="named-route-is-a-redirect",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v1", host="ratings"), name="r")), route="r"),
            "spec.http[0].route",
            "set spec.host in the TrafficShift",
            "sends to: ratings",
        ),
        id="named-route-to-other-host",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v1", 50), {"weight": 50}))),
            "spec.http[0].route[1].destination",
            "give every route entry a destination",
            "no `destination`",
        ),
        id="entry-without-destination",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v1", 50), {"destination": {"subset": "v3"}, "weight": 50}))),
            "spec.http[0].route[1].destination.host",
            "set the destination's host",
            "no `host`",
        ),
        id="destination-without-host",
    ),
    pytest.param(
        Case(
            find(
                vs(
                    http(
                        dest("v1", 50),
                        {"destination": {"host": "reviews", "subset": 3}, "weight": 50},
                    )
                )
            ),
            "spec.http[0].route[1].destination.subset",
            "DestinationRule subset name",
            "not a string",
        ),
        id="subset-not-a-string",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v1", "50"), dest("v3", 50)))),  # type: ignore[arg-type]
            "spec.http[0].route[0].weight",
            "whole percent",
            "'50', not an integer",
        ),
        id="weight-is-a-string",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v1", 80), dest("v2", 20)))),
            "spec.http[0].route",
            "move that traffic onto 'v1'",
            "also sends to subset(s) v2",
        ),
        id="third-subset",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v1", 80), dest("v1", 20, host="ratings")))),
            "spec.http[0].route[1].destination.host",
            "an http route of its own",
            "also sends to host 'ratings'",
        ),
        id="other-host-in-managed-route",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v1", 80), dest(None, 20)))),
            "spec.http[0].route[1].destination.subset",
            "route to a DestinationRule subset",
            "has no subset",
        ),
        id="destination-without-subset",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v1", 80), dest("v1", 20)))),
            "spec.http[0].route[1].destination.subset",
            "merge the two entries",
            "appears twice",
        ),
        id="same-subset-twice",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v1", 80), dest("v3")))),
            "spec.http[0].route",
            "set a weight on every destination",
            "these have no weight: spec.http[0].route[1]",
        ),
        id="missing-weight",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v1", 150), dest("v3", -50)))),
            "spec.http[0].route[0].weight",
            "from 0 to 100",
            "outside 0..100",
        ),
        id="weight-out-of-range",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v1", 30), dest("v3", 30)))),
            "spec.http[0].route",
            "sum to 100",
            "sum to 60",
        ),
        id="weights-do-not-sum-to-100",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v2"), name="r")), route="r"),
            "spec.http[0].route",
            "set spec.stable in the TrafficShift",
            "neither the stable subset 'v1'",
        ),
        id="named-route-sends-to-neither-subset",
    ),
    pytest.param(
        Case(
            find(vs(http(dest("v1"), name="main"), http(dest("v3"))), route="main"),
            "spec.http[1]",
            "remove spec.http[1] or merge it into spec.http[0]",
            "already sends to the canary subset 'v3'",
        ),
        id="rival-without-match-sends-to-canary",
    ),
    pytest.param(
        Case(
            find(
                vs(
                    http(dest("v1"), match=header_match("a"), name="testers"),
                    http(dest("v3"), match=header_match("a")),
                ),
                route="testers",
            ),
            "spec.http[1]",
            "give the two routes different matches",
            "same `match`",
        ),
        id="rival-with-same-match-sends-to-canary",
    ),
]


@pytest.mark.parametrize("case", FIND_CASES)
def test_find_error_names_path_and_fix(case: Case) -> None:
    assert_names_path_and_fix(case)
