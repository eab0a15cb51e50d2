"""A simulated Prometheus for bench/decision_quality.py: scrapes, and answers to the exact queries.

Owns `SimulatedPrometheus`, a `QueryClient` that stores the scrapes of the Istio counters of two
subsets (each subset has a 2xx and a 5xx series per counter, since `response_code` is a label)
and answers only the queries the judges send, matched by exact string equality against the
production templates rendered once (`render_counter`, `render_batched`): any other query raises,
so a template change cannot silently leave the bench answering something else.

What it answers, as Prometheus 2.42 (the Debian package the tests run) would:
- raw counters (sequential judge): the sum, per subset, of its series at the latest scrape at or
  before `now`; a series exists from the first scrape after its first increment (the 5xx series
  from the first 5xx), so a subset with no series gives no sample.
- windowed (threshold judge): `increase`/`rate` per series over the samples in (now - window,
  now], at least two of them, extrapolated as `extrapolatedRate` does (to the range edges when
  the gap is under 1.1x the average spacing, else by half an average spacing; never below the
  counter's zero point), then summed per subset; `histogram_quantile` with monotonic buckets
  and linear interpolation inside the bucket; NaN for 0/0, as Prometheus returns it.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

import numpy as np
from _dq_traffic import COLUMNS, EDGES, ERR

from controller.analysis.batched import BATCHED_REQUEST_COUNT, BATCHED_TEMPLATES, render_batched
from controller.analysis.client import Sample
from controller.analysis.readings import render_counter, union_of

# The `le` matcher a round adds to its bucket read (see controller.analysis.readings).
_LE_MATCHER = re.compile(r',le=~"((?:[^"\\]|\\.)*)"')


def _without(promql: str, found: re.Match[str]) -> str:
    return promql[: found.start()] + promql[found.end() :]


LE_LABELS = [format(edge, ".15g") for edge in EDGES] + ["+Inf"]
_MAX_SCRAPES = 4096


class SimulatedPrometheus:
    """Scrapes of both subsets' counters, and the answers at `now` (set before each check)."""

    def __init__(
        self,
        matchers: str,
        window: timedelta,
        labels: list[dict[str, str]],
        counter_matchers: tuple[str, ...] = (),
    ) -> None:
        self.window = window.total_seconds()
        self.labels = labels  # per subset (stable, canary): the three grouping labels
        self.bucket_labels = [[{**lab, "le": le} for le in LE_LABELS] for lab in labels]
        self.times = np.empty(_MAX_SCRAPES)
        self._kept: dict[str, tuple[int, list[Sample]]] = {}  # counter query -> (scrape, answer)
        # (scrape, subset, code, column): column 0 requests, 1.. cumulative `le` buckets
        self.values = np.empty((_MAX_SCRAPES, 2, 2, COLUMNS))
        self.count = 0
        self.born = np.full((2, 2), -1)  # first scrape index at which each series exists
        self.now = 0.0
        self._window_cache: tuple[float, list[list[np.ndarray | None]]] | None = None
        self.answers = {
            render_counter("requests", matchers): self._raw_requests,
            render_counter("errors", matchers): self._raw_errors,
            render_counter("buckets", matchers): self._raw_buckets,
            render_batched(BATCHED_REQUEST_COUNT, matchers, window): self._request_count,
        }
        for extra in counter_matchers:  # e.g. narrowed to the shift's services: one service here
            self.answers[render_counter("requests", extra)] = self._raw_requests
            self.answers[render_counter("errors", extra)] = self._raw_errors
            self.answers[render_counter("buckets", extra)] = self._raw_buckets
        for name, template in BATCHED_TEMPLATES.items():
            query = render_batched(template, matchers, window)
            if name == "error-rate":
                self.answers[query] = self._error_rate
            else:
                quantile = float(name.removeprefix("latency-p")) / 100
                self.answers[query] = lambda q=quantile: self._latency(q)

    # -- scrapes -----------------------------------------------------------------------------

    def scrape(self, time: float, cumulative: np.ndarray) -> None:
        """Record one scrape: `cumulative` is (subset, code, column) with per-bucket counts."""
        index = self.count
        if index == _MAX_SCRAPES:
            raise RuntimeError("simulated Prometheus is full: raise _MAX_SCRAPES")
        self.times[index] = time
        row = self.values[index]
        row[..., 0] = cumulative[..., 0]
        np.cumsum(cumulative[..., 1:], axis=-1, out=row[..., 1:])
        for subset in (0, 1):
            for code in (0, 1):
                if self.born[subset, code] < 0 and cumulative[subset, code, 0] > 0:
                    self.born[subset, code] = index
        self.count += 1

    # -- the client --------------------------------------------------------------------------

    def instant_query(self, promql: str) -> list[Sample]:
        answer = self.answers.get(promql)
        if answer is not None:
            return answer()
        if promql.startswith("label_replace("):  # the counters' one query
            return self._counters(promql)
        edges = _LE_MATCHER.search(promql)  # a bucket read of some edges: filter as Prometheus
        whole = None if edges is None else self.answers.get(_without(promql, edges))
        if edges is None or whole is None:
            raise AssertionError(f"the simulated Prometheus does not know this query: {promql}")
        pattern = re.compile(re.sub(r"\\(.)", r"\1", edges.group(1)))  # PromQL string -> regex
        return [s for s in whole() if pattern.fullmatch(s.labels.get("le", ""))]

    def _counters(self, promql: str) -> list[Sample]:
        """Answered part by part; the same until the next scrape (the watches between rounds
        ask every second), so the answer is kept until then."""
        latest = self._latest()
        kept = self._kept.get(promql)
        if kept is not None and kept[0] == latest:
            return kept[1]
        united = union_of(promql, self.instant_query)
        if united is None:
            raise AssertionError(f"the simulated Prometheus does not know this query: {promql}")
        self._kept[promql] = (latest, united)
        return united

    # -- raw counters ------------------------------------------------------------------------

    def _latest(self) -> int:
        return int(np.searchsorted(self.times[: self.count], self.now, side="right")) - 1

    def _live(self, latest: int, subset: int, code: int) -> bool:
        return 0 <= self.born[subset, code] <= latest

    def _raw_requests(self) -> list[Sample]:
        latest = self._latest()
        out = []
        for subset in (0, 1):
            codes = [c for c in (0, 1) if self._live(latest, subset, c)]
            if codes:
                value = sum(float(self.values[latest, subset, c, 0]) for c in codes)
                out.append(Sample(value, self.labels[subset]))
        return out

    def _raw_errors(self) -> list[Sample]:
        latest = self._latest()
        return [
            Sample(float(self.values[latest, subset, ERR, 0]), self.labels[subset])
            for subset in (0, 1)
            if self._live(latest, subset, ERR)
        ]

    def _raw_buckets(self) -> list[Sample]:
        latest = self._latest()
        out = []
        for subset in (0, 1):
            codes = [c for c in (0, 1) if self._live(latest, subset, c)]
            if codes:
                summed = self.values[latest, subset, codes, 1:].sum(axis=0).tolist()
                out.extend(map(Sample, summed, self.bucket_labels[subset]))
        return out

    # -- windowed ----------------------------------------------------------------------------

    def _window(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """At the current `now`: the extrapolated increase of every series and column
        (subset, code, column), which series have the two samples it needs (subset, code), and
        the per-subset sums over those (subset, column). Cached per `now`."""
        if self._window_cache is not None and self._window_cache[0] == self.now:
            return self._window_cache[1]
        times = self.times[: self.count]
        end = int(np.searchsorted(times, self.now, side="right"))
        start = int(np.searchsorted(times, self.now - self.window, side="left"))
        first = np.maximum(self.born, start)
        present = (self.born >= 0) & (end - first >= 2)
        first = np.where(present, first, max(end - 2, 0))
        increase = np.zeros((2, 2, COLUMNS))
        if present.any() and end >= 2:
            subset, code = np.indices((2, 2))
            increase = extrapolated_increase(
                times[first],
                times[end - 1],
                end - first,
                self.values[first, subset, code],
                self.values[end - 1, subset, code],
                self.now - self.window,
                self.now,
            )
            increase = np.where(present[..., None], increase, 0.0)
        summed = increase.sum(axis=1)
        found = (increase, present, summed)
        self._window_cache = (self.now, found)
        return found

    def _request_count(self) -> list[Sample]:
        _, present, summed = self._window()
        return [
            Sample(float(summed[subset, 0]), self.labels[subset])
            for subset in (0, 1)
            if present[subset].any()
        ]

    def _error_rate(self) -> list[Sample]:
        increase, present, summed = self._window()
        out = []
        for subset in (0, 1):
            if not present[subset].any():
                continue
            total = float(summed[subset, 0]) / self.window
            errors = float(increase[subset, ERR, 0]) / self.window
            failed = errors if present[subset, ERR] else 0.0 * total
            out.append(Sample(100 * failed / total if total else math.nan, self.labels[subset]))
        return out

    def _latency(self, quantile: float) -> list[Sample]:
        _, present, summed = self._window()
        out = []
        for subset in (0, 1):
            if present[subset].any():
                rates = (summed[subset, 1:] / self.window).tolist()
                out.append(Sample(bucket_quantile(quantile, rates), self.labels[subset]))
        return out


def extrapolated_increase(
    first_time: np.ndarray,
    last_time: np.ndarray,
    samples: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    range_start: float,
    range_end: float,
) -> np.ndarray:
    """Prometheus 2.42's `extrapolatedRate` (counter, not per second, no counter resets), for
    many series at once: per series its first and last sample times and the number of samples
    (at least two; arrays of one shape S), and the first and last values of its columns
    (S x columns)."""
    result = last - first
    sampled = (last_time - first_time)[..., None]
    average = sampled / (samples[..., None] - 1)
    to_start = (first_time - range_start)[..., None]
    to_end = (range_end - last_time)[..., None]
    rising = result > 0
    to_zero = sampled * first / np.where(rising, result, 1.0)
    to_start = np.where(rising & (to_zero < to_start), to_zero, to_start)
    threshold = average * 1.1
    span = sampled + np.where(to_start < threshold, to_start, average / 2)
    span += np.where(to_end < threshold, to_end, average / 2)
    return result * (span / sampled)


def bucket_quantile(quantile: float, cumulative: list[float]) -> float:
    """Prometheus 2.42's `bucketQuantile` over cumulative counts at EDGES and +Inf."""
    counts = []
    highest = -math.inf
    for count in cumulative:  # ensureMonotonic
        highest = max(highest, count)
        counts.append(highest)
    observations = counts[-1]
    if observations == 0 or math.isnan(observations):
        return math.nan
    rank = quantile * observations
    bucket = next((i for i in range(len(counts) - 1) if counts[i] >= rank), len(counts) - 1)
    if bucket == len(counts) - 1:
        return float(EDGES[-1])
    start = 0.0 if bucket == 0 else float(EDGES[bucket - 1])
    count = counts[bucket]
    if bucket > 0:
        count -= counts[bucket - 1]
        rank -= counts[bucket - 1]
    return start + (float(EDGES[bucket]) - start) * (rank / count)
