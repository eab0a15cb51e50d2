"""Istio's traffic-shifting tutorial, unattended: `weightgate run` on the sample TrafficShift
(reviews v1 -> v3 in steps [50, 100]) goes through Istio's 50/50 route and ends on Istio's
all-v3 route."""

from __future__ import annotations

import collections
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.integration.controller.cluster_view import (
    WeightWatcher,
    canary_weight,
    step_path_problems,
)
from tests.integration.controller.harness import Harness
from tests.integration.controller.knobs import wait_mesh_follows
from tests.integration.sandbox_fixtures import poll

SAMPLED_ANSWERS = 400  # 40-60% is then more than 4 standard deviations around 50%


def istio_spec(istio_fixtures: Path, filename: str) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load((istio_fixtures / "bookinfo" / filename).read_text())[
        "spec"
    ]
    return spec


def reviews_versions(productpage: str, count: int) -> collections.Counter[str]:
    """Which reviews version answered each of `count` product-page requests (sent eight at a
    time, so the sample takes about a second and stays within one step)."""

    def answer(_: int) -> str:
        response = requests.get(productpage, params={"format": "json"}, timeout=10)
        return str(response.json()["reviews_version"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        return collections.Counter(pool.map(answer, range(count)))


def test_tutorial_shift_passes_fifty_fifty_and_ends_on_istios_all_v3_route(
    harness: Harness, istio_fixtures: Path
) -> None:
    shift = harness.new_shift("tutorial", steps=(50, 100), interval="6s")
    reader = harness.reader
    with WeightWatcher(reader) as watcher:
        run = harness.start(shift)

        def at_step_one() -> dict[str, Any] | None:
            status = harness.status(shift)
            vs = reader.virtual_service()
            settled = status.get("currentStep") == 1 and not status.get("writePending")
            return vs if settled and canary_weight(vs) == 50 else None

        step_one = poll("the shift to settle at step 1 (50%)", at_step_one, 30, every=0.1)
        assert step_one["spec"] == istio_spec(istio_fixtures, "virtual-service-reviews-50-v3.yaml")
        wait_mesh_follows(harness.info, step_one["metadata"]["resourceVersion"])
        answers = reviews_versions(harness.info.productpage, SAMPLED_ANSWERS)
        still = reader.virtual_service()["metadata"]["resourceVersion"]
        assert still == step_one["metadata"]["resourceVersion"], (
            "the route changed while the answers were sampled; they must all be from step 1"
        )
        assert set(answers) == {"v1", "v3"}, answers
        assert 0.40 <= answers["v3"] / SAMPLED_ANSWERS <= 0.60, answers

        code = run.wait()
    assert code == 0, run.output()
    status = harness.status(shift)
    assert status["phase"] == "Promoted"
    final = reader.virtual_service()["spec"]
    assert final == istio_spec(istio_fixtures, "virtual-service-reviews-v3.yaml")
    assert watcher.path() == [0, 50, 100]
    assert step_path_problems(status, shift.steps, timedelta(seconds=6), promoted=True) == []
