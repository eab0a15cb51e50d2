"""Per-version fault knobs: error rate and latency, set while the mesh runs."""

from __future__ import annotations

import random
import statistics
from collections import Counter

import pytest

from controller.sandbox.mesh import Mesh, StaticRouteSource
from controller.sandbox.mesh.routing import Workload
from controller.sandbox.mesh.workloads import (
    FaultBoard,
    Faults,
    FaultSettingsError,
    ReviewsWorkload,
)
from tests.integration.mesh.conftest import destination_rule, no_sleep, virtual_service


def all_v3_mesh(seed: int) -> Mesh:
    source = StaticRouteSource(virtual_service({"v3": 100}), destination_rule())
    return Mesh(source, seed=seed, sleep=no_sleep)


@pytest.mark.parametrize("seed", [11, 12])
def test_error_rate_fails_that_fraction_of_requests(seed: int) -> None:
    mesh = all_v3_mesh(seed)
    mesh.faults.apply({"version": "v3", "error_rate": 0.2})
    statuses = Counter(mesh.product_page().status for _ in range(2000))
    assert set(statuses) == {200, 503}
    assert 0.17 <= statuses[503] / 2000 <= 0.23


def test_error_rate_applies_only_to_its_version() -> None:
    mesh = Mesh(
        StaticRouteSource(virtual_service({"v1": 50, "v3": 50}), destination_rule()),
        seed=5,
        sleep=no_sleep,
    )
    mesh.faults.apply({"version": "v3", "error_rate": 1.0})
    outcomes = Counter(
        (r.reviews_version, r.status) for r in (mesh.product_page() for _ in range(200))
    )
    assert set(outcomes) == {("v1", 200), ("v3", 503)}


def test_clear_removes_every_fault() -> None:
    mesh = all_v3_mesh(1)
    mesh.faults.apply({"version": "v3", "error_rate": 1.0, "latency_ms": 50})
    mesh.faults.apply({"clear": True})
    assert mesh.faults.snapshot()["v3"] == {
        "error_rate": 0.0,
        "error_status": 503,
        "latency_ms": 0.0,
        "latency_jitter": 0.25,
    }
    assert all(mesh.product_page().status == 200 for _ in range(50))


def test_knobs_not_named_keep_their_value() -> None:
    board = FaultBoard(["v1", "v3"])
    board.apply({"version": "v3", "latency_ms": 800})
    board.apply({"version": "v3", "error_rate": 0.2, "error_status": 500})
    assert board.get("v3") == Faults(error_rate=0.2, error_status=500, latency_ms=800.0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": "v9", "error_rate": 0.1}, "version"),
        ({"error_rate": 0.1}, "version"),
        ({"version": "v3", "error_rate": 1.5}, "error_rate"),
        ({"version": "v3", "error_rate": "lots"}, "error_rate"),
        ({"version": "v3", "error_status": 404}, "error_status"),
        ({"version": "v3", "latency_ms": -1}, "latency_ms"),
    ],
)
def test_bad_fault_settings_are_refused_naming_the_field(
    body: dict[str, object], field: str
) -> None:
    board = FaultBoard(["v1", "v3"])
    with pytest.raises(FaultSettingsError, match=field):
        board.apply(body)
    assert board.get("v3") == Faults()


def test_added_latency_is_spread_around_its_median_not_constant() -> None:
    slept: list[float] = []
    board = FaultBoard(["v3"])
    board.apply({"version": "v3", "latency_ms": 800})
    workload = ReviewsWorkload(
        Workload("reviews-v3", {"version": "v3"}), board, random.Random(4), slept.append
    )
    for _ in range(500):
        workload.handle()
    millis = [s * 1000 for s in slept]
    assert 700 <= statistics.median(millis) <= 900
    assert statistics.stdev(millis) > 50
    assert max(millis) > 1.3 * statistics.median(millis)


def test_base_latency_is_a_few_milliseconds() -> None:
    slept: list[float] = []
    workload = ReviewsWorkload(
        Workload("reviews-v1", {"version": "v1"}),
        FaultBoard(["v1"]),
        random.Random(2),
        slept.append,
    )
    for _ in range(300):
        workload.handle()
    assert 1.0 <= statistics.mean(slept) * 1000 <= 6.0
    assert min(slept) > 0
