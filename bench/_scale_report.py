"""The scale benchmark's arithmetic and output: counters read from Prometheus text, deltas over
the measuring window, tick-lag quantiles interpolated within buckets the way
`histogram_quantile` does, and the side-by-side table of modes with their ratios.

A metric the controller does not export (yet) is "n/a", never a crash.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

TICKS = "weightgate_ticks_total"
TICKS_FALLBACK = "weightgate_tick_duration_seconds_count"  # one observation per tick
LAG_BUCKETS = "weightgate_tick_lag_seconds_bucket"
LAG_MAX = "weightgate_tick_lag_max_seconds"
TICK_ERRORS = "weightgate_tick_errors_total"
PROMETHEUS_QUERIES = "prometheus_http_requests_total"
QUERY_HANDLER = "/api/v1/query"

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

Sample = tuple[dict[str, str], float]


def samples(text: str, names: Iterable[str]) -> dict[str, list[Sample]]:
    """The samples of the metrics `names` (full sample names, e.g. ``x_bucket``) in `text`."""
    wanted = set(names)
    found: dict[str, list[Sample]] = {name: [] for name in wanted}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None or match.group(1) not in wanted:
            continue
        labels = dict(_LABEL.findall(match.group(3) or ""))
        found[match.group(1)].append((labels, float(match.group(4))))
    return found


@dataclass(frozen=True)
class ControllerReading:
    """The controller's own counters at one moment (None: not exported)."""

    ticks: float | None
    ticks_source: str
    lag_buckets: dict[float, float] | None
    lag_max: float | None
    tick_errors: float | None


def read_controller(text: str) -> ControllerReading:
    found = samples(text, (TICKS, TICKS_FALLBACK, LAG_BUCKETS, LAG_MAX, TICK_ERRORS))
    ticks_source = TICKS if found[TICKS] else TICKS_FALLBACK
    tick_samples = found[ticks_source]
    buckets: dict[float, float] = {}
    for labels, value in found[LAG_BUCKETS]:
        bound = float(labels.get("le", "nan"))
        buckets[bound] = buckets.get(bound, 0.0) + value
    return ControllerReading(
        ticks=sum(v for _, v in tick_samples) if tick_samples else None,
        ticks_source=ticks_source,
        lag_buckets=buckets or None,
        lag_max=max(v for _, v in found[LAG_MAX]) if found[LAG_MAX] else None,
        tick_errors=_labelled_total(text, TICK_ERRORS, found[TICK_ERRORS]),
    )


def _labelled_total(text: str, name: str, found: list[Sample]) -> float | None:
    """Sum of a labelled counter; 0 when it is declared but has no series yet (no errors)."""
    if found:
        return sum(v for _, v in found)
    return 0.0 if f"# HELP {name} " in text else None


def read_query_count(prometheus_metrics: str) -> float | None:
    """Instant queries Prometheus has answered since it started, by its own counter."""
    found = samples(prometheus_metrics, (PROMETHEUS_QUERIES,))[PROMETHEUS_QUERIES]
    counts = [v for labels, v in found if labels.get("handler") == QUERY_HANDLER]
    return sum(counts) if counts else None


def bucket_quantile(quantile: float, cumulative: dict[float, float]) -> float | None:
    """`histogram_quantile` over cumulative bucket counts {upper bound: count}."""
    bounds = sorted(cumulative)
    if not bounds or not math.isinf(bounds[-1]) or cumulative[bounds[-1]] <= 0:
        return None
    rank = quantile * cumulative[bounds[-1]]
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = cumulative[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # above the highest finite bucket: its bound, as Prometheus
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return None


def bucket_delta(
    before: dict[float, float] | None, after: dict[float, float] | None
) -> dict[float, float] | None:
    if after is None:
        return None
    start = before or {}
    return {bound: count - start.get(bound, 0.0) for bound, count in after.items()}


@dataclass
class ModeResult:
    """Everything measured for one mode at one N; None prints as n/a."""

    mode: str
    warmup_seconds: float
    warmed_up: bool
    window_seconds: float
    queries_per_interval: float | None = None
    api_requests_per_tick: float | None = None
    ticks: float | None = None
    ticks_source: str = TICKS
    lag_p50: float | None = None
    lag_p99: float | None = None
    lag_max: float | None = None
    # The quantiles were lowered to lag_max: interpolation within a wide bucket (e.g. 10-30 s)
    # can land above the largest lag actually seen.
    lag_capped_at_max: bool = False
    tick_errors: float | None = None
    cpu_seconds_per_1000_ticks: float | None = None
    average_cores: float | None = None
    peak_rss_mb: float | None = None
    api_requests: int | None = None
    queries: float | None = None
    phases: dict[str, int] = field(default_factory=dict)
    api_requests_by_kind: dict[str, int] = field(default_factory=dict)
    # What the controller said it runs with in its "controller.started" line.
    controller_settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


ROWS: tuple[tuple[str, str, str], ...] = (
    ("PromQL queries per check interval", "queries_per_interval", "{:.1f}"),
    ("Kubernetes API requests per tick", "api_requests_per_tick", "{:.3f}"),
    ("ticks in window", "ticks", "{:.0f}"),
    ("tick lag p50 (s)", "lag_p50", "{:.3f}"),
    ("tick lag p99 (s)", "lag_p99", "{:.3f}"),
    ("tick lag max since start (s)", "lag_max", "{:.3f}"),
    ("tick errors in window", "tick_errors", "{:.0f}"),
    ("CPU seconds per 1000 ticks", "cpu_seconds_per_1000_ticks", "{:.2f}"),
    ("average CPU (cores)", "average_cores", "{:.2f}"),
    ("peak RSS (MB)", "peak_rss_mb", "{:.0f}"),
    ("warm-up (s)", "warmup_seconds", "{:.0f}"),
)


# Setup figures, not costs: a ratio of them means nothing.
_NO_RATIO = {"warmup_seconds", "tick_errors"}


def _cell(value: Any, form: str) -> str:
    return "n/a" if value is None else form.format(value)


def ratio(first: float | None, second: float | None) -> float | None:
    """second / first (how many times the second mode's figure is the first's)."""
    if first is None or second is None or first == 0:
        return None
    return second / first


def ratios(results: list[ModeResult]) -> dict[str, float | None]:
    if len(results) != 2:
        return {}
    first, second = results
    return {
        key: ratio(getattr(first, key), getattr(second, key))
        for _, key, _ in ROWS
        if key not in _NO_RATIO
    }


def table(title: str, results: list[ModeResult]) -> str:
    names = [r.mode for r in results]
    ratio_header = f"{names[1]}/{names[0]}" if len(results) == 2 else ""
    header = f"{'':36}" + "".join(f"{n:>14}" for n in names) + f"{ratio_header:>20}"
    lines = [title, header]
    found_ratios = ratios(results)
    for label, key, form in ROWS:
        cells = "".join(f"{_cell(getattr(r, key), form):>14}" for r in results)
        ratio_cell = ""
        if found_ratios and key not in _NO_RATIO:
            ratio_cell = _cell(found_ratios.get(key), "{:.1f}x")
        lines.append(f"{label:36}{cells}{ratio_cell:>20}")
    for result in results:
        phases = ", ".join(f"{k}={v}" for k, v in result.phases.items()) or "n/a"
        warm = "" if result.warmed_up else "  (warm-up incomplete: measured anyway)"
        lines.append(f"{'phases after ' + result.mode:36}{phases}{warm}")
    for result in results:
        said = ", ".join(f"{k}={v}" for k, v in result.controller_settings.items()) or "n/a"
        lines.append(f"{result.mode + ' controller reported':36}{said}")
    if any(r.lag_capped_at_max for r in results):
        lines.append(
            "(a lag quantile interpolated above the largest lag seen is shown as that max)"
        )
    if any(r.ticks_source != TICKS for r in results):
        lines.append(f"(ticks counted from {TICKS_FALLBACK}: {TICKS} is not exported)")
    return "\n".join(lines)
