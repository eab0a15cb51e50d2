"""The weight engine's promise, live: a shift changes only the destinations of the one route it
manages. Jason's header-match route to v2, the managed route's retries, timeout and header
rules, and the VirtualService's other fields come out of a promotion and a rollback as written.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests

from tests.integration.controller.cluster_view import canary_weight
from tests.integration.controller.harness import Harness
from tests.integration.controller.knobs import apply_reviews, wait_mesh_follows
from tests.integration.sandbox_fixtures import poll


def foreign_routes_spec() -> dict[str, Any]:
    """reviews with bookinfo's jason -> v2 route first and a decorated default route on v1."""
    return {
        "hosts": ["reviews"],
        "gateways": ["mesh"],
        "http": [
            {
                "name": "jason",
                "match": [{"headers": {"end-user": {"exact": "jason"}}}],
                "route": [{"destination": {"host": "reviews", "subset": "v2"}}],
            },
            {
                "name": "everyone",
                "route": [{"destination": {"host": "reviews", "subset": "v1"}}],
                "retries": {"attempts": 3, "perTryTimeout": "2s", "retryOn": "5xx,reset"},
                "timeout": "10s",
                "headers": {"request": {"set": {"x-shifted-by": "weightgate"}}},
            },
        ],
    }


def with_managed_destination(spec: dict[str, Any], subset: str) -> dict[str, Any]:
    expected = copy.deepcopy(spec)
    expected["http"][1]["route"] = [{"destination": {"host": "reviews", "subset": subset}}]
    return expected


def versions_for(productpage: str, user: str | None, count: int = 10) -> set[str]:
    headers = {"end-user": user} if user else {}
    with requests.Session() as session:
        return {
            session.get(productpage, params={"format": "json"}, headers=headers, timeout=10).json()[
                "reviews_version"
            ]
            for _ in range(count)
        }


@pytest.mark.parametrize("canary_healthy", [True, False], ids=["promoted", "rolled-back"])
def test_shift_leaves_every_other_route_and_field_as_written(
    harness: Harness, canary_healthy: bool
) -> None:
    original = foreign_routes_spec()
    apply_reviews(harness.info, original)
    if not canary_healthy:
        harness.fault_canary(error_rate=0.2)
    shift = harness.new_shift("foreign-routes", interval="4s")
    run = harness.start(shift)

    def at_step_one() -> dict[str, Any] | None:
        vs = harness.reader.virtual_service()
        return vs if canary_weight(vs) == 50 else None

    split = poll("the managed route at 50%", at_step_one, 30, every=0.1)["spec"]
    assert split["http"][0] == original["http"][0]
    assert {k: v for k, v in split["http"][1].items() if k != "route"} == {
        k: v for k, v in original["http"][1].items() if k != "route"
    }
    assert split["gateways"] == original["gateways"]
    code = run.wait()

    final = harness.reader.virtual_service()
    wait_mesh_follows(harness.info, final["metadata"]["resourceVersion"])
    if canary_healthy:
        assert code == 0, run.output()
        assert final["spec"] == with_managed_destination(original, "v3")
        assert versions_for(harness.info.productpage, "jason") == {"v2"}
        assert versions_for(harness.info.productpage, None) == {"v3"}
    else:
        assert code == 3, run.output()
        assert final["spec"] == original
        assert versions_for(harness.info.productpage, "jason") == {"v2"}
        assert versions_for(harness.info.productpage, None) == {"v1"}
