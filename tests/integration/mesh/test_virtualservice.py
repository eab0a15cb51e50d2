"""Reading VirtualService and DestinationRule objects: what is understood, what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from controller.sandbox.mesh.virtualservice import VirtualServiceError, build_routing_table
from tests.integration.mesh.conftest import destination_rule, virtual_service


def test_weights_and_subsets_are_read_from_bookinfo_shaped_objects() -> None:
    table = build_routing_table(virtual_service({"v1": 50, "v3": 50}), destination_rule(), "ns")
    assert table.summary() == [
        {
            "name": None,
            "has_match": False,
            "destinations": [
                {"host": "reviews", "subset": "v1", "weight": 50},
                {"host": "reviews", "subset": "v3", "weight": 50},
            ],
        }
    ]
    assert dict(table.subsets["v3"]) == {"version": "v3"}
    assert table.resource_version == "1"


def test_missing_virtual_service_means_no_routes() -> None:
    assert build_routing_table(None, None, "ns").routes is None


@pytest.mark.parametrize(
    ("mutate", "field_path"),
    [
        (lambda vs: vs["spec"]["http"][0]["route"][0].update(weight="half"), "route[0].weight"),
        (lambda vs: vs["spec"]["http"][0]["route"][1].update(weight=101), "route[1].weight"),
        (lambda vs: vs["spec"]["http"][0]["route"][0]["destination"].pop("host"), "host"),
        (lambda vs: vs["spec"].update(http={"route": []}), "spec.http"),
        (
            lambda vs: vs["spec"]["http"].insert(
                0, {"match": [{"headers": {"end-user": {"regex": "("}}}], "route": []}
            ),
            "spec.http[0].match[0].headers.end-user.regex",
        ),
        (
            lambda vs: vs["spec"]["http"].insert(
                0, {"match": [{"uri": {"exact": "/a", "prefix": "/b"}}], "route": []}
            ),
            "spec.http[0].match[0].uri",
        ),
    ],
)
def test_unusable_virtual_service_is_refused_with_its_field_path(
    mutate: Any, field_path: str
) -> None:
    vs = virtual_service({"v1": 50, "v3": 50})
    mutate(vs)
    with pytest.raises(
        VirtualServiceError, match=field_path.replace("[", r"\[").replace("]", r"\]")
    ):
        build_routing_table(vs, destination_rule(), "ns")


def test_subset_without_name_is_refused() -> None:
    rule = destination_rule()
    rule["spec"]["subsets"][1].pop("name")
    with pytest.raises(VirtualServiceError, match=r"subsets\[1\]\.name"):
        build_routing_table(None, rule, "ns")
