"""One measured run of the rollback-time benchmark in one lane, and the plan of all runs.

Owns what a run is (`RunSpec`: configuration, fault kind, seeded delay), the TrafficShift it
creates, the steps of a run (clean slate, wait out v3's analysis window, start the shift, wait
for step 1 on the VirtualService, sleep the delay, inject the fault, poll until all traffic is
on v1) and what it records (`RunResult`).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from _rollback_cluster import LaneClient, all_on, subset_shares

from controller.api.gates import Gate
from controller.api.trafficshift import Analysis

STEPS = [50, 100]
INTERVAL = "60s"
WINDOW = "30s"
FAILURE_LIMIT = 2
CHECK_INTERVAL = "10s"
POLL_SECONDS = 0.1
PHASE_POLL_SECONDS = 1.0
STEP_ONE_TIMEOUT = 30.0
QUIET_TIMEOUT = 120.0
CAP_SECONDS = 180.0

FAULTS: dict[str, dict[str, Any]] = {
    # 20% of v3's requests answered 503.
    "errors-20%": {"version": "v3", "error_rate": 0.2},
    # Every v3 request 1000 ms slower (no jitter), so its p99 rises by about a second.
    "latency+1s": {"version": "v3", "latency_ms": 1000, "latency_jitter": 0},
}
DEFAULT_GATES = "default"
CRITICAL_GATES = "critical"
# p99 2000 ms, not 2500: Istio's buckets jump from 1000 to 2500 ms, and histogram_quantile stays
# inside the bucket, so a +1 s fault reads about 2480 and a 2500 bound could never fire.
CRITICAL_THRESHOLDS = {"error-rate": (1, 5), "latency-p99": (500, 2000)}


def spec_has_check_interval() -> bool:
    return "check_interval" in Analysis.model_fields


def spec_has_critical_max() -> bool:
    return "critical_max" in Gate.model_fields


class Stopped(Exception):  # noqa: N818 - a signal to unwind, not an error
    """The benchmark is stopping (Ctrl-C, a crashed process): leave the run."""


@dataclass(frozen=True)
class RunSpec:
    number: int
    config: str
    fault: str
    delay_seconds: float

    @property
    def shift_name(self) -> str:
        return f"rollback-{self.number:03d}"


def plan_runs(runs: int, configs: list[str], seed: int) -> list[RunSpec]:
    """Every (config, fault) pair `runs` times, interleaved so that whatever part of the plan
    gets done is balanced; each delay is drawn from the seed alone, not from lane timing."""
    rng = random.Random(seed)
    plan: list[RunSpec] = []
    for _ in range(runs):
        for config in configs:
            for fault in FAULTS:
                plan.append(RunSpec(len(plan) + 1, config, fault, rng.uniform(0.0, 60.0)))
    return plan


def shift_manifest(run: RunSpec, namespace: str) -> dict[str, Any]:
    analysis: dict[str, Any] = {
        "window": WINDOW,
        "failureLimit": FAILURE_LIMIT,
        "profile": "default",
    }
    if spec_has_check_interval():
        analysis["checkInterval"] = CHECK_INTERVAL
    if run.config == CRITICAL_GATES:
        analysis["gates"] = [
            {"name": name, "max": limit, "criticalMax": critical}
            for name, (limit, critical) in CRITICAL_THRESHOLDS.items()
        ]
    return {
        "apiVersion": "weightgate.dev/v1alpha1",
        "kind": "TrafficShift",
        "metadata": {"name": run.shift_name, "namespace": namespace},
        "spec": {
            "virtualService": "reviews",
            "destinationRule": "reviews",
            "stable": "v1",
            "canary": "v3",
            "steps": STEPS,
            "interval": INTERVAL,
            "analysis": analysis,
        },
    }


@dataclass
class RunResult:
    number: int
    lane: str
    config: str
    fault: str
    delay_seconds: float
    outcome: str = "error"  # rolled-back | promoted | timeout | error
    rollback_seconds: float | None = None
    first_failure_seconds: float | None = None
    phase: str = ""
    reason: str = ""
    trigger: str = ""  # critical | failure-limit | another reason the shift gave
    message: str = ""
    failed_checks: int = 0
    gates: list[dict[str, Any]] = field(default_factory=list)
    quiet_wait_seconds: float = 0.0
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class LaneRunner:
    """Drives runs one after another in one lane; `stopping` cuts any wait short."""

    def __init__(self, client: LaneClient, stopping: threading.Event) -> None:
        self.client = client
        self.stopping = stopping
        self._previous: str | None = None

    def _sleep(self, seconds: float) -> None:
        if self.stopping.wait(seconds):
            raise Stopped

    def run(self, spec: RunSpec) -> RunResult:
        result = RunResult(
            spec.number, self.client.namespace, spec.config, spec.fault, spec.delay_seconds
        )
        try:
            self._measure(spec, result)
        except Stopped:
            raise
        except Exception as exc:  # one broken run is reported; the rest go on
            result.outcome, result.error = "error", f"{type(exc).__name__}: {exc}"
        finally:
            self._quietly(self.client.clear_faults)
        return result

    def _measure(self, spec: RunSpec, result: RunResult) -> None:
        self._clean_slate()
        started = time.monotonic()
        self._wait_canary_quiet()
        result.quiet_wait_seconds = round(time.monotonic() - started, 1)
        self.client.create_shift(shift_manifest(spec, self.client.namespace))
        self._previous = spec.shift_name
        self._wait_until("step 1 (50% v3) on the VirtualService", STEP_ONE_TIMEOUT, _at_step_one)
        self._sleep(spec.delay_seconds)
        self.client.set_fault(FAULTS[spec.fault])
        injected, injected_wall = time.monotonic(), time.time()
        result.outcome, ended = self._poll_until_v1(spec.shift_name, injected)
        if ended is not None:
            result.rollback_seconds = round(ended - injected, 2)
        self._record_shift(spec.shift_name, injected_wall, result)

    def _clean_slate(self) -> None:
        """No faults, no shift of ours, reviews on all-v1 (the shift goes first, so the
        controller never sees the reset as drift)."""
        self.client.clear_faults()
        if self._previous is not None:
            self.client.delete_shift(self._previous)
            self._previous = None
        self.client.route_all_to_v1()

    def _wait_canary_quiet(self) -> None:
        deadline = time.monotonic() + QUIET_TIMEOUT
        while self.client.canary_requests(WINDOW) >= 0.5:
            if time.monotonic() > deadline:
                raise TimeoutError(f"v3 still had requests in the last {WINDOW} after waiting")
            self._sleep(1.0)

    def _wait_until(
        self, what: str, timeout: float, done: Callable[[dict[str, Any]], bool]
    ) -> None:
        deadline = time.monotonic() + timeout
        while not done(self.client.virtual_service()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {what} within {timeout:.0f}s")
            self._sleep(POLL_SECONDS)

    def _poll_until_v1(self, name: str, injected: float) -> tuple[str, float | None]:
        """('rolled-back', when) once the VirtualService sends everything to v1; 'promoted' if
        the shift finished on v3 instead; 'timeout' after the cap."""
        next_phase_read = injected + PHASE_POLL_SECONDS
        while True:
            vs = self.client.virtual_service()
            now = time.monotonic()
            if all_on(vs, "v1"):
                return "rolled-back", now
            if now - injected > CAP_SECONDS:
                return "timeout", None
            if now >= next_phase_read:
                next_phase_read = now + PHASE_POLL_SECONDS
                if self.client.shift(name).get("status", {}).get("phase") == "Promoted":
                    return "promoted", None
            self._sleep(POLL_SECONDS)

    def _record_shift(self, name: str, injected_wall: float, result: RunResult) -> None:
        status = self.client.shift(name).get("status", {})
        result.phase = str(status.get("phase", ""))
        result.message = str(status.get("message", ""))
        result.failed_checks = int(status.get("failedChecks", 0))
        result.gates = [
            {k: gate.get(k) for k in ("name", "verdict", "value", "threshold")}
            for gate in status.get("gates", [])
        ]
        history = status.get("history", [])
        if history:
            result.reason = str(history[-1].get("reason", ""))
        result.trigger = _trigger(result.reason, result.message)
        # A failed check that does not yet reach the limit is a CheckFailed entry; one that
        # rolls back (the limit, or a critical threshold) is the RolledBack entry itself.
        failed = [
            _epoch(entry["time"]) - injected_wall
            for entry in history
            if entry.get("reason") in ("CheckFailed", "RolledBack")
            and _epoch(entry["time"]) >= injected_wall
        ]
        if failed:
            result.first_failure_seconds = round(min(failed), 2)

    def _quietly(self, action: Callable[[], None]) -> None:
        with contextlib.suppress(Exception):  # best effort while leaving a run
            action()


def _at_step_one(vs: dict[str, Any]) -> bool:
    return subset_shares(vs).get("v3", 0.0) == float(STEPS[0])


def _trigger(reason: str, message: str) -> str:
    """What rolled the shift back, read from its message (the API has no field for it)."""
    if reason != "RolledBack":
        return reason
    if "critical threshold" in message:
        return "critical"
    if "failed checks in a row" in message:
        return "failure-limit"
    return "other"


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
