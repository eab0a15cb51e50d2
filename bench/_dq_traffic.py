"""Known-truth traffic for bench/decision_quality.py: the scenarios, their truth, the requests.

Owns the scenario table (what the canary does differently from the stable subset), a cell of the
grid, the truth of a cell under a gate profile (does the canary meet its gates?), and `Traffic`:
the requests of one replication.

Traffic model, per simulated second: Poisson(rps) requests, each routed to the canary with the
live weight, each a 5xx with its subset's probability (with ``overdispersion``, that probability
is drawn per second and subset from a Beta with the same mean and a + b = ``overdispersion``:
bursty errors), each with a lognormal duration. The base duration has median 60 ms and sigma
ln(5)/2.326 = 0.692, so its p99 is 300 ms (and 0.11% of requests are slower than 500 ms); the
latency scenarios multiply it by 1.2 (p99 360 ms: meets the 500 ms gate) or add 1000 ms.
Durations are binned into Istio's (Envoy's default) buckets.

Common random numbers: every request's uniforms (route, 5xx) and its normal (duration) are
drawn in 64-second chunks from a stream of their own (seed, cell, replication, chunk), before
the weight is known. The weight only decides which subset a request goes to, so the two judges
see the very same requests, and differ only where their weights differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from controller.api.gates import Gate
from controller.sandbox.mesh.telemetry import DURATION_BUCKETS_MS

EDGES = np.array(DURATION_BUCKETS_MS, dtype=float)
N_BUCKETS = len(EDGES) + 1  # the finite edges and the overflow (+Inf)
COLUMNS = 1 + N_BUCKETS  # per subset and code: requests, then the per-bucket counts
STABLE, CANARY = 0, 1
OK, ERR = 0, 1
CHUNK_SECONDS = 64

LATENCY_MEDIAN_MS = 60.0
LATENCY_SIGMA = math.log(5.0) / 2.326348  # p99 = 5 x median = 300 ms
_MU = math.log(LATENCY_MEDIAN_MS)


@dataclass(frozen=True)
class Scenario:
    """What the canary does: its 5xx rate (from the base rate) and its duration transform."""

    name: str
    error_factor: float | None  # canary 5xx = factor x base; None: `error_fixed`
    error_fixed: float
    latency: str  # "base", "x1.2" or "+1000ms"
    latency_mult: float
    latency_add_ms: float

    def canary_error(self, base: float) -> float:
        return self.error_fixed if self.error_factor is None else self.error_factor * base


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("healthy", 1.0, 0.0, "base", 1.0, 0.0),
        Scenario("errors-2x", 2.0, 0.0, "base", 1.0, 0.0),
        Scenario("errors-20pct", None, 0.20, "base", 1.0, 0.0),
        Scenario("latency-20pct", 1.0, 0.0, "x1.2", 1.2, 0.0),
        Scenario("latency-1s", 1.0, 0.0, "+1000ms", 1.0, 1000.0),
    )
}


@dataclass(frozen=True)
class Cell:
    """One point of the grid (both judges run it on the same streams)."""

    scenario: str
    base_error: float
    rps: float
    steps: tuple[int, ...]
    interval: int  # seconds

    @property
    def canary_error(self) -> float:
        return SCENARIOS[self.scenario].canary_error(self.base_error)

    @property
    def label(self) -> str:
        steps = "-".join(str(s) for s in self.steps)
        return f"{self.scenario}/{100 * self.base_error:g}/{self.rps:g}/{steps}/{self.interval}s"


def _p99(mult: float, add: float) -> float:
    return mult * math.exp(_MU + 2.326348 * LATENCY_SIGMA) + add


def truth(cell: Cell, gates: list[Gate]) -> str:
    """The truth of a cell: "good" when the canary meets every gate, "bad" when it breaks
    one, "edge" when a rate sits exactly on a threshold (reported, counted as neither)."""
    scenario = SCENARIOS[cell.scenario]
    verdicts = []
    for gate in gates:
        if gate.name == "error-rate":
            canary, stable = 100 * cell.canary_error, 100 * cell.base_error
        else:
            canary = _p99(scenario.latency_mult, scenario.latency_add_ms)
            stable = _p99(1.0, 0.0)
        limits = []
        if gate.max is not None:
            limits.append(gate.max)
        if gate.max_over_stable is not None:
            limits.append(stable + gate.max_over_stable)
        if gate.max_ratio_to_stable is not None:
            limits.append(stable * gate.max_ratio_to_stable)
        for limit in limits:
            if math.isclose(canary, limit, rel_tol=1e-9):
                verdicts.append("edge")
            else:
                verdicts.append("bad" if canary > limit else "good")
    if "bad" in verdicts:
        return "bad"
    return "edge" if "edge" in verdicts else "good"


class _Chunk:
    """64 seconds of requests, drawn before anyone knows the weights."""

    def __init__(self, rng: np.random.Generator, cell: Cell, overdispersion: float) -> None:
        counts = rng.poisson(cell.rps, CHUNK_SECONDS)
        total = int(counts.sum())
        self.second = np.repeat(np.arange(CHUNK_SECONDS), counts)
        self.route = rng.random(total)
        fail = rng.random(total)
        duration = np.exp(_MU + LATENCY_SIGMA * rng.standard_normal(total))
        scenario = SCENARIOS[cell.scenario]
        self.bucket = (
            np.searchsorted(EDGES, duration),
            np.searchsorted(EDGES, duration * scenario.latency_mult + scenario.latency_add_ms),
        )
        self.error = (
            fail < _per_second(rng, cell.base_error, overdispersion)[self.second],
            fail < _per_second(rng, cell.canary_error, overdispersion)[self.second],
        )


def _per_second(rng: np.random.Generator, mean: float, overdispersion: float) -> np.ndarray:
    if overdispersion <= 0 or mean <= 0 or mean >= 1:
        return np.full(CHUNK_SECONDS, mean)
    return rng.beta(mean * overdispersion, (1 - mean) * overdispersion, CHUNK_SECONDS)


class Traffic:
    """The requests of one replication, counted per second for the weight they were routed by."""

    def __init__(
        self, cell: Cell, key: tuple[int, ...], overdispersion: float, origin: int
    ) -> None:
        self.cell = cell
        self.key = key  # (seed, cell id, replication): the chunks' streams hang off it
        self.overdispersion = overdispersion
        self.origin = origin  # the first simulated second (chunk 0 starts there)
        self.chunks: dict[int, _Chunk] = {}

    def _chunk(self, index: int) -> _Chunk:
        chunk = self.chunks.get(index)
        if chunk is None:
            self.chunks.pop(index - 2, None)
            rng = np.random.default_rng([*self.key, index])
            chunk = self.chunks[index] = _Chunk(rng, self.cell, self.overdispersion)
        return chunk

    def counts(self, first: int, last: int, weight: int) -> np.ndarray:
        """Counters added in seconds first..last with `weight` % to the canary, as an array
        (second, subset, code, column): column 0 requests, 1.. the duration buckets."""
        out = np.zeros((last - first + 1, 2, 2, COLUMNS), dtype=np.int64)
        second = first
        while second <= last:
            index, offset = divmod(second - self.origin, CHUNK_SECONDS)
            upto = min(last, second + CHUNK_SECONDS - 1 - offset)
            span = self._span(self._chunk(index), offset, offset + upto - second, weight)
            out[second - first : upto - first + 1] = span
            second = upto + 1
        return out

    @staticmethod
    def _span(chunk: _Chunk, lo: int, hi: int, weight: int) -> np.ndarray:
        begin, end = np.searchsorted(chunk.second, [lo, hi + 1])
        canary = chunk.route[begin:end] < weight / 100
        error = np.where(canary, chunk.error[CANARY][begin:end], chunk.error[STABLE][begin:end])
        bucket = np.where(canary, chunk.bucket[CANARY][begin:end], chunk.bucket[STABLE][begin:end])
        row = ((chunk.second[begin:end] - lo) * 2 + canary) * 2 + error
        flat = np.concatenate([row * COLUMNS, row * COLUMNS + 1 + bucket])
        counted = np.bincount(flat, minlength=(hi - lo + 1) * 4 * COLUMNS)
        return counted.reshape(hi - lo + 1, 2, 2, COLUMNS)
