"""Fixtures for the mesh tests: bookinfo's reviews objects, a fake API, a session Prometheus."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.sandbox.promstack import PrometheusProcess
from tests.integration.mesh.fake_api import FakeIstioApi
from tests.integration.promstack.helpers import running_prometheus

NAMESPACE = "bookinfo"
SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
BOOKINFO = SHARED / "fixtures" / "istio" / "bookinfo"


def virtual_service(
    weights: dict[str, int], match_routes: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The reviews VirtualService: optional match routes first, then a weighted default."""
    default = {
        "route": [
            {"destination": {"host": "reviews", "subset": subset}, "weight": weight}
            for subset, weight in weights.items()
        ]
    }
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": NAMESPACE, "resourceVersion": "1"},
        "spec": {"hosts": ["reviews"], "http": [*(match_routes or []), default]},
    }


def destination_rule() -> dict[str, Any]:
    """bookinfo's destination-rule-reviews.yaml: subsets v1, v2, v3 by `version` label."""
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "reviews", "namespace": NAMESPACE},
        "spec": {
            "host": "reviews",
            "subsets": [{"name": v, "labels": {"version": v}} for v in ("v1", "v2", "v3")],
        },
    }


def no_sleep(_seconds: float) -> None:
    """Stands in for time.sleep where a test counts outcomes, not time."""


@pytest.fixture
def fake_api() -> Iterator[FakeIstioApi]:
    api = FakeIstioApi().start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusProcess]:
    """One real Prometheus for the session; each test module adds its own targets."""
    with running_prometheus(tmp_path_factory.mktemp("prometheus")) as process:
        yield process


@pytest.fixture
def bookinfo_dir() -> Path:
    if not BOOKINFO.is_dir():
        pytest.skip(f"Istio bookinfo fixtures not found at {BOOKINFO} (shared/ beside the repo)")
    return BOOKINFO
