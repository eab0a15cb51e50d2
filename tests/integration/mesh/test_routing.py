"""The mesh routes reviews traffic as an Envoy sidecar following the VirtualService would."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from controller.sandbox.mesh import Mesh, StaticRouteSource
from controller.sandbox.mesh.routing import (
    RequestContext,
    Workload,
    choose_destination,
    select_workload,
)
from controller.sandbox.mesh.virtualservice import WeightedDestination, build_routing_table
from tests.integration.mesh.conftest import destination_rule, no_sleep, virtual_service

WORKLOADS = [Workload(f"reviews-{v}", {"app": "reviews", "version": v}) for v in ("v1", "v2", "v3")]


def versions_answering(mesh: Mesh, count: int, **headers: str) -> Counter[str | None]:
    return Counter(mesh.product_page(headers).reviews_version for _ in range(count))


def mesh_with(vs: dict[str, Any] | None, seed: int = 7) -> Mesh:
    return Mesh(StaticRouteSource(vs, destination_rule()), seed=seed, sleep=no_sleep)


def test_fifty_fifty_split_sends_40_to_60_percent_to_each_version() -> None:
    answered = versions_answering(mesh_with(virtual_service({"v1": 50, "v3": 50})), 400)
    assert set(answered) == {"v1", "v3"}
    assert 160 <= answered["v1"] <= 240
    assert 160 <= answered["v3"] <= 240


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fifty_fifty_split_holds_for_other_seeds(seed: int) -> None:
    answered = versions_answering(mesh_with(virtual_service({"v1": 50, "v3": 50}), seed), 400)
    assert 160 <= answered["v3"] <= 240


def test_all_traffic_goes_to_v3_when_it_has_weight_100() -> None:
    answered = versions_answering(mesh_with(virtual_service({"v1": 0, "v3": 100})), 200)
    assert answered == Counter({"v3": 200})


def test_lone_destination_without_weight_takes_everything() -> None:
    vs = virtual_service({})
    vs["spec"]["http"][-1]["route"] = [{"destination": {"host": "reviews", "subset": "v2"}}]
    assert versions_answering(mesh_with(vs), 50) == Counter({"v2": 50})


def test_ninety_ten_split_is_weighted_not_uniform() -> None:
    answered = versions_answering(mesh_with(virtual_service({"v1": 90, "v3": 10})), 1000)
    assert 850 <= answered["v1"] <= 950


JASON_ROUTE = {
    "match": [{"headers": {"end-user": {"exact": "jason"}}}],
    "route": [{"destination": {"host": "reviews", "subset": "v2"}}],
}


def test_exact_header_match_route_takes_matching_requests() -> None:
    mesh = mesh_with(virtual_service({"v1": 100}, [JASON_ROUTE]))
    assert versions_answering(mesh, 50, **{"end-user": "jason"}) == Counter({"v2": 50})
    assert versions_answering(mesh, 50, **{"end-user": "alice"}) == Counter({"v1": 50})
    assert versions_answering(mesh, 50) == Counter({"v1": 50})


def test_header_names_match_case_insensitively() -> None:
    mesh = mesh_with(virtual_service({"v1": 100}, [JASON_ROUTE]))
    assert versions_answering(mesh, 10, **{"End-User": "jason"}) == Counter({"v2": 10})


def test_user_query_parameter_sends_end_user_header_like_bookinfo_login() -> None:
    mesh = mesh_with(virtual_service({"v1": 100}, [JASON_ROUTE]))
    assert mesh.product_page({}, {"user": "jason"}).reviews_version == "v2"


@pytest.mark.parametrize(
    ("string_match", "value", "expected"),
    [
        ({"prefix": "jas"}, "jason", "v3"),
        ({"prefix": "jas"}, "ajason", "v1"),
        ({"regex": "j.*n"}, "jason", "v3"),
        ({"regex": "j.*n"}, "jasonx", "v1"),  # RE2 in Envoy matches the whole value
        ({}, "anything", "v3"),  # an empty StringMatch checks presence only
    ],
)
def test_prefix_regex_and_presence_header_matches(
    string_match: dict[str, str], value: str, expected: str
) -> None:
    route = {
        "match": [{"headers": {"x-canary": string_match}}],
        "route": [{"destination": {"host": "reviews", "subset": "v3"}}],
    }
    mesh = mesh_with(virtual_service({"v1": 100}, [route]))
    assert mesh.product_page({"x-canary": value}).reviews_version == expected


def test_uri_match_and_first_matching_route_wins() -> None:
    table = build_routing_table(
        virtual_service(
            {"v1": 100},
            [
                {
                    "match": [{"uri": {"prefix": "/reviews/1"}}],
                    "route": [{"destination": {"host": "reviews", "subset": "v2"}}],
                },
                {
                    "match": [{"uri": {"regex": "/reviews/[0-9]+"}}],
                    "route": [{"destination": {"host": "reviews", "subset": "v3"}}],
                },
            ],
        ),
        destination_rule(),
        "bookinfo",
    )
    rng = random.Random(0)
    chosen = {
        uri: select_workload(table, RequestContext(uri=uri), WORKLOADS, rng).workload
        for uri in ("/reviews/1", "/reviews/0", "/ratings/0")
    }
    assert {uri: w.version if w else None for uri, w in chosen.items()} == {
        "/reviews/1": "v2",
        "/reviews/0": "v3",
        "/ratings/0": "v1",
    }


def test_without_headers_excludes_requests_carrying_the_header() -> None:
    route = {
        "match": [{"withoutHeaders": {"x-legacy": {}}}],
        "route": [{"destination": {"host": "reviews", "subset": "v3"}}],
    }
    mesh = mesh_with(virtual_service({"v1": 100}, [route]))
    assert mesh.product_page({}).reviews_version == "v3"
    assert mesh.product_page({"x-legacy": "1"}).reviews_version == "v1"


def test_without_a_virtual_service_traffic_spreads_over_every_version() -> None:
    answered = versions_answering(mesh_with(None), 600)
    assert set(answered) == {"v1", "v2", "v3"}
    assert all(150 <= count <= 250 for count in answered.values())


def test_subset_missing_from_destination_rule_fails_503_nc() -> None:
    result = mesh_with(virtual_service({"v4": 100})).product_page()
    assert (result.status, result.response_flags, result.reviews_version) == (503, "NC", None)
    assert "v4" in (result.error or "")


def test_request_no_route_matches_fails_404_nr() -> None:
    vs = virtual_service({"v1": 100}, [JASON_ROUTE])
    vs["spec"]["http"].pop()  # only the jason route is left
    result = mesh_with(vs).product_page({})
    assert (result.status, result.response_flags) == (404, "NR")


def test_destination_host_other_than_reviews_fails_503_uh() -> None:
    vs = virtual_service({"v1": 100})
    vs["spec"]["http"][0]["route"][0]["destination"]["host"] = "ratings"
    assert mesh_with(vs).product_page().response_flags == "UH"


def test_fully_qualified_reviews_host_is_accepted() -> None:
    vs = virtual_service({"v3": 100})
    vs["spec"]["http"][0]["route"][0]["destination"]["host"] = "reviews.bookinfo.svc.cluster.local"
    assert mesh_with(vs).product_page().reviews_version == "v3"


def test_zero_total_weight_falls_back_to_an_even_pick() -> None:
    destinations = [WeightedDestination("reviews", s, 0) for s in ("v1", "v3")]
    rng = random.Random(3)
    picks = [choose_destination(destinations, rng) for _ in range(200)]
    assert {pick.subset for pick in picks if pick is not None} == {"v1", "v3"}
