"""How the controller itself fared during the rollback-time benchmark, from its own /metrics:
ticks run, their mean duration, how many took over a second, and ticks that raised - evidence
that the controller was not starved of CPU while the lanes ran.
"""

from __future__ import annotations

from typing import Any

import requests
from _rollback_stack import BenchStack
from prometheus_client.parser import text_string_to_metric_families

TICK_HISTOGRAM = "weightgate_tick_duration_seconds"
TICK_ERRORS = "weightgate_tick_errors"
SLOW_TICK_SECONDS = "1.0"


def controller_ticks(stack: BenchStack) -> dict[str, Any]:
    """Tick figures from the running controller; `{"error": ...}` if they cannot be read."""
    started = stack.controller_event("controller.started")
    url = started.get("metrics_url") if started else None
    if not isinstance(url, str):
        return {"error": "the controller logged no controller.started with a metrics_url"}
    try:
        text = requests.get(url, timeout=10).text
    except requests.RequestException as exc:
        return {"error": f"GET {url}: {exc}"}
    return _tick_figures(text)


def _tick_figures(text: str) -> dict[str, Any]:
    count = total = within_slow = errors = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{TICK_HISTOGRAM}_count":
                count += sample.value
            elif sample.name == f"{TICK_HISTOGRAM}_sum":
                total += sample.value
            elif (
                sample.name == f"{TICK_HISTOGRAM}_bucket"
                and sample.labels.get("le") == SLOW_TICK_SECONDS
            ):
                within_slow += sample.value
            elif sample.name == f"{TICK_ERRORS}_total":
                errors += sample.value
    return {
        "ticks": int(count),
        "mean_tick_ms": round(1000.0 * total / count, 1) if count else None,
        "ticks_over_1s": int(count - within_slow),
        "tick_errors": int(errors),
    }
