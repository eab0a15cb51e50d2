"""The simulated `reviews` workloads (v1, v2, v3) and their fault knobs.

Owns what a reviews pod answers and how long it takes: a base latency of a few milliseconds,
plus, per version and changeable while the mesh runs, an added latency drawn from a lognormal
distribution around a median and a fraction of requests answered with a 5xx status.
Latency is real time spent in the calling thread (injectable `sleep` for tests).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from controller.sandbox.mesh.routing import Workload

BASE_LATENCY_MS = 3.0
BASE_LATENCY_SPREAD_MS = 1.0
MIN_LATENCY_MS = 0.5

# Each version's review as bookinfo shows it: v1 has no rating, v2 black stars, v3 red stars.
STAR_COLOURS: Mapping[str, str | None] = {"v1": None, "v2": "black", "v3": "red"}


class FaultSettingsError(ValueError):
    """An `/admin/faults` body the mesh cannot apply; names the field."""


@dataclass(frozen=True)
class Faults:
    """Per-version knobs. `latency_ms` is the median added latency, `latency_jitter` its
    lognormal sigma (0.25 puts p99 at about 1.8x the median)."""

    error_rate: float = 0.0
    error_status: int = 503
    latency_ms: float = 0.0
    latency_jitter: float = 0.25

    def updated(self, changes: Mapping[str, Any]) -> Faults:
        """Apply the knobs named in an admin body; unnamed knobs keep their value."""
        values = asdict(self)
        for name in values:
            if name in changes:
                values[name] = _number(changes[name], name)
        faults = replace(self, **values)
        faults.validate()
        return faults

    def validate(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise FaultSettingsError(f"error_rate: must be within 0..1, got {self.error_rate}")
        if not 500 <= self.error_status <= 599:
            raise FaultSettingsError(f"error_status: must be a 5xx code, got {self.error_status}")
        if self.latency_ms < 0 or self.latency_jitter < 0:
            raise FaultSettingsError("latency_ms and latency_jitter: must not be negative")


def _number(raw: Any, name: str) -> Any:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise FaultSettingsError(f"{name}: must be a number, got {raw!r}")
    return int(raw) if name == "error_status" else float(raw)


class FaultBoard:
    """The current faults of every version, shared by the admin API and the workloads."""

    def __init__(self, versions: list[str]) -> None:
        self._versions = list(versions)
        self._lock = threading.Lock()
        self._faults = {version: Faults() for version in versions}

    def get(self, version: str) -> Faults:
        with self._lock:
            return self._faults.get(version, Faults())

    def apply(self, body: Mapping[str, Any]) -> None:
        """Apply an `/admin/faults` body: `{"clear": true[, "version": v]}` or knobs for one
        version (`{"version": "v3", "error_rate": 0.2, "latency_ms": 800}`)."""
        version = body.get("version")
        if version is not None and version not in self._versions:
            known = ", ".join(self._versions)
            raise FaultSettingsError(f"version: {version!r} is not one of {known}")
        if body.get("clear"):
            with self._lock:
                for name in [version] if version else self._versions:
                    self._faults[name] = Faults()
            return
        if version is None:
            raise FaultSettingsError('version: required unless the body is {"clear": true}')
        with self._lock:
            self._faults[version] = self._faults[version].updated(body)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {version: asdict(faults) for version, faults in self._faults.items()}


@dataclass(frozen=True)
class ReviewsResponse:
    status: int
    version: str
    body: dict[str, Any]


class ReviewsWorkload:
    """One reviews version: sleeps for its drawn latency, then answers or fails."""

    def __init__(
        self,
        workload: Workload,
        faults: FaultBoard,
        rng: random.Random,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.workload = workload
        self._faults = faults
        self._rng = rng
        self._sleep = sleep

    def handle(self) -> ReviewsResponse:
        faults = self._faults.get(self.workload.version)
        self._sleep(self.draw_latency_ms(faults) / 1000.0)
        version = self.workload.version
        if self._rng.random() < faults.error_rate:
            return ReviewsResponse(faults.error_status, version, {"error": "injected fault"})
        return ReviewsResponse(200, version, review_body(version))

    def draw_latency_ms(self, faults: Faults) -> float:
        base = self._rng.gauss(BASE_LATENCY_MS, BASE_LATENCY_SPREAD_MS)
        added = 0.0
        if faults.latency_ms > 0:
            added = self._rng.lognormvariate(math.log(faults.latency_ms), faults.latency_jitter)
        return max(MIN_LATENCY_MS, base) + added


def review_body(version: str) -> dict[str, Any]:
    """The JSON a bookinfo reviews pod returns for product 0."""
    colour = STAR_COLOURS.get(version)
    reviews: list[dict[str, Any]] = [
        {"reviewer": "Reviewer1", "text": "An extremely entertaining play by Shakespeare."},
        {"reviewer": "Reviewer2", "text": "Absolutely fun and entertaining."},
    ]
    if colour is not None:
        for review, stars in zip(reviews, (5, 4), strict=True):
            review["rating"] = {"stars": stars, "color": colour}
    return {"id": "0", "podname": f"reviews-{version}", "reviews": reviews}
