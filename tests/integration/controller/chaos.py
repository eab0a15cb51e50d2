"""SIGKILL chaos for `weightgate run`: drive shifts while killing the controller at seeded random
moments, re-running it after every kill until it exits, and judge each shift's end.

A shift passes when it ends where it should (promoted with a healthy canary; rolled back when
v3 turns faulty at 50%), its recorded step path (ShiftStarted, StepAdvanced..., Promoted) skips
no step, takes none twice and takes none sooner than the interval after the one before, and the
live weights seen while it ran went only forward through the steps. VirtualService patches are
slowed down so that many kills fall between a recorded decision and its confirmed write.
Shared by the acceptance test (a few shifts) and bench/chaos_sigkill.py (twenty and more).
"""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from controller.sandbox.apiserver.admin import inject_fault
from tests.integration.controller.cluster_view import (
    WeightWatcher,
    managed_route,
    step_path_problems,
    weight_path_problems,
)
from tests.integration.controller.harness import Harness, ShiftUnderTest
from tests.integration.controller.knobs import all_v1_spec, reset_shared_state, wait_canary_quiet

STEPS = (25, 50, 100)
INTERVAL = 3.0
FAULT_AT_WEIGHT = 50  # a faulty case turns v3 bad once the route reaches this weight
KILL_DELAY = (0.5, 4.0)  # seconds a run lives before its SIGKILL, drawn uniformly
MAX_KILLS = 8  # then the run is left to finish, so every shift ends
# Slow VirtualService patches widen the window between recording a decision and confirming it
# on the route (a few milliseconds otherwise), so that random kills land inside it often.
PATCH_LATENCY_MS = 500
FINISH_DEADLINE = 90.0
EXPECTED_EXIT = {False: 0, True: 3}  # by "faulty"
EXPECTED_PHASE = {False: "Promoted", True: "RolledBack"}


@dataclass(frozen=True)
class ChaosCase:
    index: int
    faulty: bool


@dataclass
class ChaosOutcome:
    case: ChaosCase
    shift: str
    kills: int = 0
    mid_write_kills: int = 0  # kills that left a decided write unconfirmed (writePending)
    exit_code: int | None = None
    phase: str = ""
    seconds: float = 0.0
    weights: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        kind = "faulty " if self.case.faulty else "healthy"
        verdict = "ok" if not self.problems else "WRONG: " + "; ".join(self.problems)
        return (
            f"run {self.case.index:2d} {kind} {self.shift:<18} "
            f"kills {self.kills} ({self.mid_write_kills} mid-write) "
            f"exit {self.exit_code} {self.phase:<10} {self.seconds:5.1f}s "
            f"weights {self.weights} {verdict}"
        )


def chaos_cases(runs: int, faulty_runs: int) -> list[ChaosCase]:
    """`runs` cases, `faulty_runs` of them faulty and spread evenly among the healthy ones."""
    faulty = {round((k + 1) * runs / (faulty_runs + 1)) for k in range(faulty_runs)}
    return [ChaosCase(i, i in faulty) for i in range(runs)]


def _drive_with_kills(
    harness: Harness, shift: ShiftUnderTest, outcome: ChaosOutcome, rng: random.Random
) -> int:
    """Start `weightgate run` again after every SIGKILL until a run exits by itself; returns
    its exit code and counts the kills (and those that cut a recorded write short)."""
    while True:
        run = harness.start(shift)
        if outcome.kills >= MAX_KILLS:
            return run.wait(FINISH_DEADLINE)
        try:
            return run.process.wait(timeout=rng.uniform(*KILL_DELAY))
        except subprocess.TimeoutExpired:
            run.sigkill()
            outcome.kills += 1
            if harness.status(shift).get("writePending"):
                outcome.mid_write_kills += 1


def run_case(harness: Harness, case: ChaosCase, rng: random.Random) -> ChaosOutcome:
    shift = harness.new_shift(f"chaos{case.index}", steps=STEPS, interval=f"{INTERVAL:g}s")
    outcome = ChaosOutcome(case, shift.name)

    def turn_faulty(weight: int) -> None:
        if case.faulty and weight >= FAULT_AT_WEIGHT and not harness.canary_faulted:
            harness.fault_canary(error_rate=0.2)

    started = time.monotonic()
    with WeightWatcher(harness.reader, on_weight=turn_faulty) as watcher:
        outcome.exit_code = _drive_with_kills(harness, shift, outcome, rng)
    outcome.seconds = time.monotonic() - started
    outcome.weights = watcher.path()
    live = watcher.changes()
    status = harness.status(shift)
    outcome.phase = str(status.get("phase", ""))
    outcome.problems = _end_problems(harness, shift, case, status)
    outcome.problems += weight_path_problems(live, STEPS, INTERVAL, rolled_back=case.faulty)
    return outcome


def _end_problems(
    harness: Harness, shift: ShiftUnderTest, case: ChaosCase, status: dict[str, object]
) -> list[str]:
    problems: list[str] = []
    if status.get("phase") != EXPECTED_PHASE[case.faulty]:
        problems.append(f"phase {status.get('phase')}, expected {EXPECTED_PHASE[case.faulty]}")
    if status.get("writePending"):
        problems.append("a write is still pending")
    vs = harness.reader.virtual_service()
    if case.faulty and vs["spec"] != all_v1_spec():
        problems.append(f"route not back on all-v1: {vs['spec']}")
    destinations = managed_route(vs)["route"]
    if not case.faulty and [d["destination"]["subset"] for d in destinations] != ["v3"]:
        problems.append(f"route not promoted to v3 alone: {destinations}")
    problems += step_path_problems(
        status, list(STEPS), timedelta(seconds=INTERVAL), promoted=not case.faulty
    )
    return problems


def run_chaos(
    harness: Harness,
    cases: list[ChaosCase],
    *,
    seed: int,
    rps: float,
    report: Callable[[ChaosOutcome], None] = lambda _: None,
) -> list[ChaosOutcome]:
    """Every case in turn on a freshly reset sandbox; `report` hears each outcome."""
    rng = random.Random(seed)
    outcomes: list[ChaosOutcome] = []
    for case in cases:
        reset_shared_state(harness.info, rps)
        if harness.canary_faulted:
            wait_canary_quiet(harness.info, "10s")  # this shift must not judge the last fault
            harness.canary_faulted = False
        inject_fault(
            harness.info.api,
            verb="patch",
            resource="virtualservices",
            latency_ms=PATCH_LATENCY_MS,
            count=None,
        )
        outcome = run_case(harness, case, rng)
        if outcome.exit_code != EXPECTED_EXIT[case.faulty]:
            outcome.problems.insert(0, f"exit {outcome.exit_code}")
        outcomes.append(outcome)
        report(outcome)
        harness.stop_runs()
    return outcomes
