"""What the controller acceptance tests read from the sandbox: the live reviews VirtualService
and TrafficShifts through the sandbox API, the managed route's canary weight (computed here,
independently of controller.routing, so the product is not its own oracle), a thread that
samples that weight while a shift runs, and the step path recorded in a shift's history.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests

from controller.sandbox.stack import SandboxInfo

VS_PATH = "/apis/networking.istio.io/v1/namespaces/{ns}/virtualservices/{name}"
SHIFT_PATH = "/apis/weightgate.dev/v1alpha1/namespaces/{ns}/trafficshifts/{name}"
STEP_REASONS = ("ShiftStarted", "StepAdvanced", "Promoted")


class SandboxReader:
    """GETs against the sandbox API stand-in (loopback, no auth needed)."""

    def __init__(self, info: SandboxInfo) -> None:
        self.info = info
        self._session = requests.Session()

    def _get(self, path: str) -> dict[str, Any] | None:
        response = self._session.get(self.info.api + path, timeout=10)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def virtual_service(self, name: str = "reviews") -> dict[str, Any]:
        found = self._get(VS_PATH.format(ns=self.info.namespace, name=name))
        assert found is not None, f"VirtualService {self.info.namespace}/{name} is missing"
        return found

    def shift(self, name: str) -> dict[str, Any] | None:
        return self._get(SHIFT_PATH.format(ns=self.info.namespace, name=name))

    def shift_status(self, name: str) -> dict[str, Any]:
        shift = self.shift(name)
        status = (shift or {}).get("status")
        return status if isinstance(status, dict) else {}

    def close(self) -> None:
        self._session.close()


def managed_route(vs: dict[str, Any]) -> dict[str, Any]:
    """The one http route without a match: the route a TrafficShift on `reviews` manages."""
    unmatched = [r for r in vs["spec"]["http"] if not r.get("match")]
    assert len(unmatched) == 1, f"expected one route without match, got {unmatched}"
    route: dict[str, Any] = unmatched[0]
    return route


def canary_weight(vs: dict[str, Any], canary: str = "v3") -> int:
    """Percent of the managed route's traffic sent to `canary` (Istio: one destination = 100)."""
    destinations = managed_route(vs)["route"]
    if len(destinations) == 1:
        return 100 if destinations[0]["destination"].get("subset") == canary else 0
    return sum(
        int(d.get("weight", 0)) for d in destinations if d["destination"].get("subset") == canary
    )


class WeightWatcher:
    """Samples the live canary weight every `every` seconds in a thread while in a `with`."""

    def __init__(
        self,
        reader: SandboxReader,
        every: float = 0.1,
        canary: str = "v3",
        on_weight: Callable[[int], None] | None = None,
    ) -> None:
        self._reader = reader
        self._every = every
        self._canary = canary
        self._on_weight = on_weight  # called in the watcher thread with every weight read
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="weight-watcher", daemon=True)
        self.samples: list[tuple[float, int]] = []

    def __enter__(self) -> WeightWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                weight = canary_weight(self._reader.virtual_service(), self._canary)
            except (requests.RequestException, AssertionError, KeyError):
                weight = -1  # unreadable this instant; kept so a gap is visible in failures
            self.samples.append((time.monotonic(), weight))
            if self._on_weight is not None and weight >= 0:
                self._on_weight(weight)
            self._stop.wait(self._every)

    def changes(self) -> list[tuple[float, int]]:
        """(time first read, weight) for each weight seen, consecutive repeats (and unreadable
        samples) dropped."""
        seen: list[tuple[float, int]] = []
        for at, weight in list(self.samples):
            if weight >= 0 and (not seen or seen[-1][1] != weight):
                seen.append((at, weight))
        return seen

    def path(self) -> list[int]:
        """The weights seen, in order, each once per stretch."""
        return [weight for _, weight in self.changes()]

    def weights_between(self, start: float, end: float) -> set[int]:
        return {w for t, w in list(self.samples) if start <= t <= end and w >= 0}


@dataclass(frozen=True)
class StepEntry:
    reason: str
    step: int
    weight: int
    time: datetime


def step_path(status: dict[str, Any]) -> list[StepEntry]:
    """The history entries that take a step: ShiftStarted, StepAdvanced, Promoted."""
    return [
        StepEntry(e["reason"], int(e["step"]), int(e["weight"]), datetime.fromisoformat(e["time"]))
        for e in status.get("history", [])
        if e["reason"] in STEP_REASONS
    ]


def step_path_problems(
    status: dict[str, Any], steps: list[int], interval: timedelta, *, promoted: bool
) -> list[str]:
    """Everything wrong with the recorded step path: a skipped, repeated or early step, a
    missing or unexpected promotion. Empty when the path is exactly right."""
    path = step_path(status)
    problems: list[str] = []
    taken = [e for e in path if e.reason != "Promoted"]
    expected = [("ShiftStarted", 1, steps[0])]
    expected += [("StepAdvanced", i + 1, w) for i, w in enumerate(steps) if i > 0]
    got = [(e.reason, e.step, e.weight) for e in taken]
    if got != expected[: len(got)]:
        problems.append(f"step path {got} is not a prefix of {expected}")
    promotions = [e for e in path if e.reason == "Promoted"]
    if promoted and (got != expected or len(promotions) != 1 or path[-1].reason != "Promoted"):
        problems.append(f"expected every step then one Promoted, got {[e.reason for e in path]}")
    if not promoted and promotions:
        problems.append(f"a shift that should not promote recorded {promotions}")
    for before, after in itertools.pairwise(path):
        if after.time - before.time < interval:
            problems.append(
                f"{after.reason} step {after.step} at {after.time} came "
                f"{after.time - before.time} after step {before.step}, sooner than {interval}"
            )
    return problems


# A weight is seen up to one sampling period plus one read after it lands.
LIVE_READ_TOLERANCE = 0.3


def weight_path_problems(
    changes: list[tuple[float, int]],
    steps: Sequence[int],
    interval: float,
    *,
    rolled_back: bool,
) -> list[str]:
    """The live weights (`WeightWatcher.changes`) must go forward through the steps (then to 0
    for a rollback), each step at least an interval after the one before."""
    weights = [weight for _, weight in changes]
    forward = [0, *steps]
    went = weights[:-1] if rolled_back else weights
    if went != forward[: len(went)] or (rolled_back and weights[-1:] != [0]):
        return [f"live weights {weights}: not steps forward" + (" then 0" if rolled_back else "")]
    if not rolled_back and weights != forward:
        return [f"live weights {weights}, expected {forward}"]
    steps_seen = changes[1 : len(went)]  # from the first step to the last one taken
    return [
        f"live weight {after} came {t_after - t_before:.2f}s after {before}, sooner than the "
        f"{interval:g}s interval"
        for (t_before, before), (t_after, after) in itertools.pairwise(steps_seen)
        if t_after - t_before < interval - LIVE_READ_TOLERANCE
    ]
