"""The traffic every synthetic service sees: a steady request rate per version, a small 5xx
fraction and log-normal latencies, as pure functions of elapsed time (no per-request state).

Counts are floors of smooth functions of time, so every counter and cumulative bucket is
non-decreasing, and `rate()` over any window of a few scrapes gives back `rps`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from controller.sandbox.mesh.telemetry import DURATION_BUCKETS_MS

# Log-normal spread: with a 20 ms median, p90 is about 43 ms and p99 about 81 ms.
DEFAULT_SIGMA = 0.6
DEFAULT_MEDIAN_MS = 20.0
# Each service's median is drawn within this factor of the default, from the seed.
MEDIAN_JITTER = 0.2


@dataclass(frozen=True)
class TrafficModel:
    """Rate, error fraction and latency spread shared by every service and version."""

    rps: float = 10.0
    error_fraction: float = 0.001
    sigma: float = DEFAULT_SIGMA

    def __post_init__(self) -> None:
        if self.rps < 0:
            raise ValueError(f"rps is {self.rps}: a request rate cannot be negative")
        if not 0 <= self.error_fraction <= 1:
            raise ValueError(
                f"error fraction is {self.error_fraction}: use a fraction from 0 to 1 "
                "(--error-percent takes percent, e.g. 0.1)"
            )

    def counts(self, elapsed_seconds: float) -> tuple[int, int]:
        """Requests answered (2xx, 5xx) after `elapsed_seconds` of traffic."""
        total = math.floor(self.rps * max(0.0, elapsed_seconds))
        errors = math.floor(total * self.error_fraction)
        return total - errors, errors

    def bucket_fractions(self, median_ms: float) -> tuple[float, ...]:
        """Share of requests at or below each of Istio's bucket bounds."""
        scale = self.sigma * math.sqrt(2)
        return tuple(
            0.5 * (1 + math.erf((math.log(bound) - math.log(median_ms)) / scale))
            for bound in DURATION_BUCKETS_MS
        )

    def mean_ms(self, median_ms: float) -> float:
        return median_ms * math.exp(self.sigma**2 / 2)


def service_medians(count: int, seed: int) -> list[float]:
    """A median latency per (service, version) slot, the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - telemetry shape, not security
    low, high = 1 - MEDIAN_JITTER, 1 + MEDIAN_JITTER
    return [DEFAULT_MEDIAN_MS * rng.uniform(low, high) for _ in range(count)]
