"""Behaviour of reading, setting, promoting and rolling back the managed route's weights."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from controller.routing import (
    ManagedRoute,
    find_managed_route,
    promote,
    read_canary_weight,
    rollback,
    route_weights,
    same_host,
    set_canary_weight,
)
from tests.unit.routing.builders import dest, header_match, http, vs

STABLE, CANARY = "v1", "v3"
PORT = {"port": {"number": 9080}}


def managed_of(spec: dict[str, Any], **kwargs: Any) -> ManagedRoute:
    return find_managed_route(spec, stable=STABLE, canary=CANARY, **kwargs)


def set_weight(spec: dict[str, Any], weight: int) -> dict[str, Any]:
    return set_canary_weight(spec, managed_of(spec), stable=STABLE, canary=CANARY, weight=weight)


def test_new_canary_entry_is_a_copy_of_stable_with_the_subset_replaced() -> None:
    stable = dest("v1", headers={"response": {"set": {"x-tier": "web"}}})
    stable["destination"].update(PORT)
    route = set_weight(vs(http(stable)), 20)["http"][0]["route"]
    expected_stable = copy.deepcopy(stable) | {"weight": 80}
    expected_canary = copy.deepcopy(expected_stable) | {"weight": 20}
    expected_canary["destination"]["subset"] = "v3"
    assert route == [expected_stable, expected_canary]


def test_existing_canary_entry_keeps_its_own_fields() -> None:
    canary = dest("v3", 10, headers={"request": {"add": {"x-canary": "1"}}})
    canary["destination"]["port"] = {"number": 9081}
    route = set_weight(vs(http(dest("v1", 90), canary)), 40)["http"][0]["route"]
    assert route[1] == canary | {"weight": 40}


def test_stable_entry_comes_first_even_when_canary_was_listed_first() -> None:
    spec = vs(http(dest("v3", 30), dest("v1", 70)))
    assert set_weight(spec, 30)["http"][0]["route"] == [dest("v1", 70), dest("v3", 30)]


@pytest.mark.parametrize(
    ("weight", "expected"),
    [
        pytest.param(0, [dest("v1", 100), dest("v3", 0)], id="zero-keeps-both-entries"),
        pytest.param(100, [dest("v1", 0), dest("v3", 100)], id="hundred-keeps-both-entries"),
    ],
)
def test_set_weight_at_the_ends_writes_two_entries(
    weight: int, expected: list[dict[str, Any]]
) -> None:
    assert set_weight(vs(http(dest("v1"))), weight)["http"][0]["route"] == expected


def test_set_weight_after_promotion_makes_stable_from_canary() -> None:
    canary = dest("v3")
    canary["destination"].update(PORT)
    route = set_weight(vs(http(canary)), 90)["http"][0]["route"]
    assert [e["destination"] for e in route] == [
        {"host": "reviews", "subset": "v1", **PORT},
        {"host": "reviews", "subset": "v3", **PORT},
    ]
    assert [e["weight"] for e in route] == [10, 90]


def test_promote_keeps_canary_entry_fields_and_drops_weight() -> None:
    canary = dest("v3", 50, headers={"response": {"add": {"x-v": "3"}}})
    spec = vs(http(dest("v1", 50), canary))
    promoted = promote(spec, managed_of(spec), canary=CANARY)
    assert promoted["http"][0]["route"] == [dest("v3", headers=canary["headers"])]


@pytest.mark.parametrize(
    "route",
    [
        pytest.param([dest("v1", 60), dest("v2", 20), dest("v3", 20)], id="third-subset"),
        pytest.param([dest("v1", 30), dest("v3", 30)], id="weights-not-100"),
        pytest.param([dest("v1", 50), {"weight": 50}], id="entry-without-destination"),
        pytest.param([dest("v3", 50), dest("v1", 50, host="ratings")], id="other-host-entry"),
    ],
)
def test_rollback_never_refuses_a_damaged_route(route: list[dict[str, Any]]) -> None:
    """A rollback replaces whatever the route holds with the single stable destination."""
    spec = vs(http(dest("v1")))
    spec["http"][0]["route"] = route
    rolled = rollback(spec, ManagedRoute(0, None, "reviews"), stable=STABLE)
    assert rolled["http"][0]["route"] == [dest("v1")]


def test_rollback_of_a_route_without_destinations_to_the_host_writes_a_new_one() -> None:
    spec = vs(http(dest("v2", host="other")))
    rolled = rollback(spec, ManagedRoute(0, None, "reviews"), stable=STABLE)
    assert rolled["http"][0]["route"] == [dest("v1")]


def test_single_destination_takes_all_traffic_whatever_its_weight() -> None:
    """Istio ignores the weight of a lone destination."""
    spec = vs(http(dest("v1", 0)))
    assert route_weights(spec, managed_of(spec)) == {"v1": 100}


@pytest.mark.parametrize(
    ("route", "canary_weight"),
    [
        pytest.param([dest("v1")], 0, id="stable-only"),
        pytest.param([dest("v1", 75), dest("v3", 25)], 25, id="split"),
        pytest.param([dest("v1", 100), dest("v3", 0)], 0, id="split-at-zero"),
        pytest.param([dest("v3")], 100, id="promoted"),
    ],
)
def test_read_canary_weight(route: list[dict[str, Any]], canary_weight: int) -> None:
    spec = vs(http(*route))
    assert read_canary_weight(spec, managed_of(spec), stable=STABLE, canary=CANARY) == (
        canary_weight
    )


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("reviews", "reviews", True),
        ("reviews", "reviews.bookinfo.svc.cluster.local", True),
        ("reviews.bookinfo.svc.cluster.local", "reviews", True),
        ("reviews", "ratings.bookinfo.svc.cluster.local", False),
        ("reviews", "reviews2", False),
        ("reviews.a.svc.cluster.local", "reviews.b.svc.cluster.local", False),
    ],
)
def test_same_host(a: str, b: str, same: bool) -> None:
    assert same_host(a, b) is same


def test_short_destination_host_matches_fqdn_vs_host() -> None:
    spec = vs(http(dest("v1")), hosts=["reviews.bookinfo.svc.cluster.local"])
    assert managed_of(spec) == ManagedRoute(0, None, "reviews.bookinfo.svc.cluster.local")


def test_automatic_choice_skips_match_routes_and_other_hosts() -> None:
    spec = vs(
        http(dest("v1"), match=header_match("jason")),
        http(dest("v1", host="ratings")),
        http(dest("v1"), name="default"),
        hosts=["reviews", "ratings"],
    )
    assert managed_of(spec) == ManagedRoute(2, "default", "reviews")


def test_empty_match_list_counts_as_no_match() -> None:
    spec = vs(http(dest("v1"), match=[]))
    assert managed_of(spec).index == 0


def test_named_route_may_have_a_match() -> None:
    """spec.route can manage a header-based route, e.g. a canary for testers only."""
    spec = vs(http(dest("v1"), name="testers", match=header_match("jason")), http(dest("v1")))
    managed = managed_of(spec, route="testers")
    shifted = set_canary_weight(spec, managed, stable=STABLE, canary=CANARY, weight=100)
    assert shifted["http"][0]["route"] == [dest("v1", 0), dest("v3", 100)]
    assert shifted["http"][1] == spec["http"][1]


def test_match_route_sending_to_canary_is_not_a_rival_of_the_default_route() -> None:
    spec = vs(http(dest("v3"), match=header_match("jason")), http(dest("v1")))
    assert managed_of(spec).index == 1


def test_operations_never_mutate_their_input() -> None:
    stable = dest("v1", 70, headers={"request": {"set": {"x-a": "1"}}})
    stable["destination"].update(copy.deepcopy(PORT))
    spec = vs(http(stable, dest("v3", 30)), http(dest("v1"), match=header_match("a")))
    before = copy.deepcopy(spec)
    managed = managed_of(spec)
    outputs = [
        set_canary_weight(spec, managed, stable=STABLE, canary=CANARY, weight=60),
        promote(spec, managed, canary=CANARY),
        rollback(spec, managed, stable=STABLE),
    ]
    assert spec == before
    for output in outputs:
        entry = output["http"][0]["route"][0]
        entry["destination"]["subset"] = "changed"
        entry["destination"].get("port", {})["number"] = 1
        entry.get("headers", {}).clear()
        output["http"][1]["match"].clear()
    assert spec == before
