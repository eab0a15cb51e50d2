"""SIGKILL chaos for `weightgate controller`: one daemon process SIGKILLed at seeded random
moments and started again after every kill, while a shift runs and the world moves under it.

Four kinds of case, mixed:

- healthy: the shift must end Promoted, the route on v3 alone;
- faulty: v3 turns to 20% 5xx once the route reaches 50%: the shift must end RolledBack, the
  route all-v1;
- deleted: the shift is deleted (`kubectl delete --wait=false`) once the route reaches 50%: the
  daemon's finalizer must hold the delete until the route is back on all-v1
  (`spec.onDelete: rollback`), then let it go, with a RolledBackOnDelete Event and the route's
  owner annotation removed;
- contested: a second TrafficShift naming the same route is created once the route reaches
  25%: it must be refused (Invalid, "is managed by TrafficShift ...") and never write the
  route, and the first shift must end Promoted as if it were alone.

In every case the live weights (sampled from the VirtualService) must go forward through the
steps, never sooner than the interval after the one before (then to 0 for a rollback), and the
recorded step path must skip, repeat or hurry no step. VirtualService patches are slowed so that
many kills fall between a recorded decision and its confirmed write. Shared by the acceptance
test (one case of each kind) and bench/chaos_sigkill.py (twenty and more).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from controller.routing.ownership import OWNERS_ANNOTATION
from controller.sandbox.apiserver.admin import inject_fault
from controller.sandbox.stack import SandboxInfo
from tests.integration.controller.cluster_view import (
    SandboxReader,
    WeightWatcher,
    managed_route,
    step_path_problems,
    weight_path_problems,
)
from tests.integration.controller.knobs import all_v1_spec, set_mesh_fault, wait_canary_quiet
from tests.integration.daemon.daemon_process import (
    TEST_LABEL,
    TEST_LABEL_VALUE,
    DaemonProcess,
    kubectl,
    reset_shared_state,
)
from tests.integration.sandbox_fixtures import poll

STEPS = (25, 50, 100)
INTERVAL = 3.0
FAULT_AT_WEIGHT = 50  # faulty: v3 turns bad at this weight; deleted: the delete comes then
CONTEST_AT_WEIGHT = 25  # contested: the second shift comes once the route has been claimed
KILL_DELAY = (1.0, 5.0)  # seconds a daemon lives after it is ready, drawn uniformly
MAX_KILLS = 6  # then the last daemon is left to finish, so every case ends
PATCH_LATENCY_MS = 500
END_DEADLINE = 120.0
REFUSAL_DEADLINE = 60.0


class Kind(StrEnum):
    HEALTHY = "healthy"
    FAULTY = "faulty"
    DELETED = "deleted"
    CONTESTED = "contested"


@dataclass(frozen=True)
class DaemonCase:
    index: int
    kind: Kind


@dataclass
class DaemonOutcome:
    case: DaemonCase
    shift: str
    kills: int = 0
    mid_write_kills: int = 0  # kills that left a decided write unconfirmed (writePending)
    end: str = ""
    seconds: float = 0.0
    weights: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        verdict = "ok" if not self.problems else "WRONG: " + "; ".join(self.problems)
        return (
            f"daemon {self.case.index:2d} {self.case.kind:<9} {self.shift:<20} "
            f"kills {self.kills} ({self.mid_write_kills} mid-write) {self.end:<10} "
            f"{self.seconds:5.1f}s weights {self.weights} {verdict}"
        )


def daemon_cases(runs: int) -> list[DaemonCase]:
    """`runs` cases, the four kinds in turn (so any four in a row have one of each)."""
    order = (Kind.HEALTHY, Kind.DELETED, Kind.CONTESTED, Kind.FAULTY)
    return [DaemonCase(i, order[i % len(order)]) for i in range(runs)]


def chaos_shift(name: str) -> dict[str, Any]:
    """v1 -> v3 on reviews in three quick steps, judged by the default (sequential) judge."""
    return {
        "apiVersion": "weightgate.dev/v1alpha1",
        "kind": "TrafficShift",
        "metadata": {"name": name, "labels": {TEST_LABEL: TEST_LABEL_VALUE}},
        "spec": {
            "virtualService": "reviews",
            "destinationRule": "reviews",
            "stable": "v1",
            "canary": "v3",
            "steps": list(STEPS),
            "interval": f"{INTERVAL:g}s",
            "analysis": {"window": "10s", "minRequests": 5, "progressDeadline": "60s"},
        },
    }


class Killer:
    """Keeps one daemon running, SIGKILLing it at random moments (a random time after it is
    ready) and starting another at once, until `MAX_KILLS` or `stop()`; the last one is left
    running."""

    def __init__(
        self, info: SandboxInfo, logs: Path, rng: random.Random, on_kill: Callable[[], None]
    ) -> None:
        self.info = info
        self.logs = logs
        self.rng = rng
        self.on_kill = on_kill
        self.kills = 0
        self.started = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.daemon = self._start()
        self._thread = threading.Thread(target=self._run, name="daemon-killer", daemon=True)

    def _start(self) -> DaemonProcess:
        self.started += 1
        daemon = DaemonProcess(self.info, self.logs / f"controller-{self.started}.log")
        daemon.wait_ready()
        return daemon

    def __enter__(self) -> Killer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            while self.kills < MAX_KILLS and not self._stop.wait(self.rng.uniform(*KILL_DELAY)):
                with self._lock:
                    self.daemon.kill()
                    self.kills += 1
                    self.on_kill()
                    self.daemon = self._start()
        except BaseException as exc:  # reported by the case, not lost in a thread
            self.error = exc

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def kill_last(self) -> None:
        with self._lock:
            self.daemon.kill()


class _World:
    """What the case does to the world as the live weight moves (called in the watcher's
    thread): turn v3 faulty, delete the shift, or create the contesting shift, once each."""

    def __init__(self, info: SandboxInfo, case: DaemonCase, name: str) -> None:
        self.info = info
        self.case = case
        self.name = name
        self.rival = f"{name}-rival"
        self.faulted = False
        self.deleted = False
        self.contested = False
        self.errors: list[str] = []

    def on_weight(self, weight: int) -> None:
        try:
            self._act(weight)
        except Exception as exc:  # a failed action is a problem of the case
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def _act(self, weight: int) -> None:
        kind = self.case.kind
        if kind is Kind.FAULTY and weight >= FAULT_AT_WEIGHT and not self.faulted:
            self.faulted = True
            set_mesh_fault(self.info, version="v3", error_rate=0.2)
        elif kind is Kind.DELETED and weight >= FAULT_AT_WEIGHT and not self.deleted:
            self.deleted = True
            kubectl(self.info, "delete", "trafficshift", self.name, "--wait=false")
        elif kind is Kind.CONTESTED and weight >= CONTEST_AT_WEIGHT and not self.contested:
            self.contested = True
            kubectl(self.info, "create", "-f", "-", stdin=yaml.safe_dump(chaos_shift(self.rival)))


def _ended(reader: SandboxReader, case: DaemonCase, name: str) -> str | None:
    """How the shift ended, once it has: its final phase, or "deleted" once it is gone (a
    deleted shift's end is its disappearance: its RolledBack phase comes first, while the
    finalizer still holds it)."""
    shift = reader.shift(name)
    if shift is None:
        return "deleted"
    if case.kind is Kind.DELETED and (shift.get("metadata") or {}).get("deletionTimestamp"):
        return None
    status = shift.get("status") or {}
    phase = str(status.get("phase", ""))
    if phase in ("Promoted", "RolledBack", "Failed", "Invalid") and not status.get("writePending"):
        return phase
    return None


EXPECTED_END = {
    Kind.HEALTHY: "Promoted",
    Kind.FAULTY: "RolledBack",
    Kind.DELETED: "deleted",
    Kind.CONTESTED: "Promoted",
}


def run_daemon_case(
    info: SandboxInfo, case: DaemonCase, rng: random.Random, logs: Path
) -> DaemonOutcome:
    name = f"dchaos{case.index}-{rng.randrange(16**6):06x}"
    outcome = DaemonOutcome(case, name)
    reader = SandboxReader(info)
    world = _World(info, case, name)
    last_status: dict[str, Any] = {}

    def counted_kill() -> None:
        if reader.shift_status(name).get("writePending"):
            outcome.mid_write_kills += 1

    case_logs = logs / name
    case_logs.mkdir(parents=True)
    started = time.monotonic()
    try:
        with (
            Killer(info, case_logs, rng, counted_kill) as killer,
            WeightWatcher(reader, on_weight=world.on_weight) as watcher,
        ):
            kubectl(info, "create", "-f", "-", stdin=yaml.safe_dump(chaos_shift(name)))
            refusal = _refusal(info, reader, world) if case.kind is Kind.CONTESTED else []

            def end_seen() -> str | None:
                nonlocal last_status
                status = reader.shift_status(name)
                last_status = status or last_status
                return _ended(reader, case, name)

            try:
                outcome.end = poll(f"{name} to end", end_seen, END_DEADLINE, every=0.2)
            except AssertionError as exc:
                outcome.problems.append(str(exc))
            killer.stop()
            outcome.kills = killer.kills
            if killer.error is not None:
                outcome.problems.append(f"the killer failed: {killer.error!r}")
            ended_at = time.monotonic()
            poll(  # a sample taken after the end, so the path ends where the route did
                "the weight watcher to sample the ended route",
                lambda: any(at > ended_at for at, _ in list(watcher.samples)),
                10.0,
                every=0.05,
            )
        killer.kill_last()
    finally:
        reader.close()
    outcome.seconds = time.monotonic() - started
    outcome.weights = watcher.path()
    outcome.problems += world.errors + refusal
    outcome.problems += _end_problems(info, case, name, outcome.end, last_status)
    rolled_back = case.kind in (Kind.FAULTY, Kind.DELETED)
    outcome.problems += weight_path_problems(
        watcher.changes(), STEPS, INTERVAL, rolled_back=rolled_back
    )
    return outcome


def _refusal(info: SandboxInfo, reader: SandboxReader, world: _World) -> list[str]:
    """Wait for the contesting shift to be refused, then delete it (it never had a finalizer:
    it never sent traffic)."""
    owner = world.name

    def refused() -> dict[str, Any] | None:
        if not world.contested:
            return None
        status = reader.shift_status(world.rival)
        return status if status.get("phase") == "Invalid" else None

    problems: list[str] = []
    try:
        status = poll(f"{world.rival} to be refused", refused, REFUSAL_DEADLINE, every=0.2)
    except AssertionError as exc:
        return [str(exc)]
    if f"is managed by TrafficShift {owner}" not in str(status.get("message", "")):
        problems.append(f"the rival was Invalid for another reason: {status.get('message')}")
    if status.get("currentStep") or status.get("canaryWeight"):
        problems.append(f"the rival took a step: {status}")
    kubectl(info, "delete", "trafficshift", world.rival, "--wait=false")
    return problems


def _end_problems(
    info: SandboxInfo, case: DaemonCase, name: str, end: str, status: dict[str, Any]
) -> list[str]:
    problems: list[str] = []
    reader = SandboxReader(info)
    expected = EXPECTED_END[case.kind]
    if end != expected:
        problems.append(f"ended {end or 'never'}, expected {expected}")
    vs = reader.virtual_service()
    reader.close()
    rolled_back = expected in ("RolledBack", "deleted")
    if rolled_back and vs["spec"] != all_v1_spec():
        problems.append(f"route not back on all-v1: {vs['spec']}")
    destinations = managed_route(vs)["route"]
    if not rolled_back and [d["destination"]["subset"] for d in destinations] != ["v3"]:
        problems.append(f"route not promoted to v3 alone: {destinations}")
    owners = (vs["metadata"].get("annotations") or {}).get(OWNERS_ANNOTATION)
    if owners:
        problems.append(f"the route still names an owner after the shift ended: {owners}")
    if case.kind is Kind.DELETED:
        reasons = [event.get("reason") for event in events_for(info, name)]
        if "RolledBackOnDelete" not in reasons:
            problems.append(f"no RolledBackOnDelete Event for the deleted shift: {reasons}")
    else:
        problems += step_path_problems(
            status, list(STEPS), timedelta(seconds=INTERVAL), promoted=expected == "Promoted"
        )
    return problems


def run_daemon_chaos(
    info: SandboxInfo,
    cases: list[DaemonCase],
    *,
    seed: int,
    logs: Path,
    report: Callable[[DaemonOutcome], None] = lambda _: None,
) -> list[DaemonOutcome]:
    """Every case in turn on a freshly reset sandbox; `report` hears each outcome."""
    rng = random.Random(seed)
    outcomes: list[DaemonOutcome] = []
    faulted = False
    for case in cases:
        reset_shared_state(info)
        if faulted:
            wait_canary_quiet(info, "10s")  # this shift must not judge the last fault
        inject_fault(
            info.api,
            verb="patch",
            resource="virtualservices",
            latency_ms=PATCH_LATENCY_MS,
            count=None,
        )
        outcome = run_daemon_case(info, case, rng, logs)
        faulted = case.kind is Kind.FAULTY
        outcomes.append(outcome)
        report(outcome)
    reset_shared_state(info)
    return outcomes


def events_for(info: SandboxInfo, name: str) -> list[dict[str, Any]]:
    listed = kubectl(
        info, "get", "events", "--field-selector", f"involvedObject.name={name}", "-o", "json"
    )
    items: list[dict[str, Any]] = json.loads(listed.stdout)["items"]
    return items
