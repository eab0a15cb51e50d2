"""Helpers shared by the tests that meet the real Prometheus: polling and a session Prometheus.

`running_prometheus` is written so that one Prometheus can serve a whole test session: it starts
with no targets, and each test module adds its own with `add_target` and filters its queries by
`instance`. A conftest exposes it as a session-scoped fixture (move that fixture to
tests/integration/conftest.py to share one Prometheus between directories).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import requests

from controller.sandbox.promstack import PrometheusProcess

T = TypeVar("T")


def poll_until(
    probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.25
) -> T:
    """Call `probe` until it returns something other than None; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = probe()
        if outcome is not None:
            return outcome
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def instant_query(prometheus_url: str, promql: str) -> list[dict[str, Any]]:
    """Evaluate `promql` now; the `result` list of Prometheus's vector answer."""
    response = requests.get(f"{prometheus_url}/api/v1/query", params={"query": promql}, timeout=5)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def values_by(result: list[dict[str, Any]], label: str) -> dict[str, float]:
    """{label value: sample value} of an instant-vector result."""
    return {item["metric"].get(label, ""): float(item["value"][1]) for item in result}


@contextmanager
def running_prometheus(workdir: Path) -> Iterator[PrometheusProcess]:
    """A started Prometheus with no targets yet, stopped on exit whatever happens."""
    prometheus = PrometheusProcess([], workdir)
    try:
        prometheus.start()
        yield prometheus
    finally:
        prometheus.stop()
