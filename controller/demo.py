"""``weightgate demo``: Istio's traffic-shifting task, unattended, on the local sandbox.

Act 1 moves ``reviews`` from v1 to v3 (steps 50 then 100, as in Istio's tutorial), showing at
every change the weights, the share of productpage answers by version and each gate against
its threshold, and ends promoted. Act 2 sends a new shift to a faulty v3: its gates fail, the
route goes back to v1, and the demo shows the alert the sandbox's Alertmanager delivered. The
sandbox is stopped at the end, whatever happens.
"""

from __future__ import annotations

import collections
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from controller.api.status import GateStatus, Phase
from controller.api.trafficshift import TrafficShift
from controller.pipeline import DriveOptions, apply_with_retries, drive, utc_now
from controller.reconcile import TickOutcome
from controller.sandbox.stack import Sandbox, SandboxInfo
from controller.settings import load_settings
from controller.wiring import Wired, wire

Say = Callable[[str], None]
STARS = {"v1": "no stars", "v2": "black stars", "v3": "red stars"}
SAMPLE_REQUESTS = 40


@dataclass(frozen=True)
class DemoResult:
    promoted: bool
    rolled_back: bool
    alerts: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return self.promoted and self.rolled_back and bool(self.alerts)


def demo_shift(name: str, *, alerts: bool) -> TrafficShift:
    """The tutorial's shift with demo-sized timings (the sample uses 30s steps)."""
    spec: dict[str, Any] = {
        "virtualService": "reviews",
        "destinationRule": "reviews",
        "stable": "v1",
        "canary": "v3",
        "steps": [50, 100],
        "interval": "10s",
        "analysis": {
            "window": "10s",
            "minRequests": 10,
            "failureLimit": 2,
            "progressDeadline": "1m",
        },
    }
    if alerts:
        spec["alerts"] = [{"provider": "sandbox", "events": ["rollback"]}]
    return TrafficShift.model_validate(
        {
            "apiVersion": "weightgate.dev/v1alpha1",
            "kind": "TrafficShift",
            "metadata": {"name": name, "namespace": "bookinfo"},
            "spec": spec,
        }
    )


def answer_shares(info: SandboxInfo, count: int = SAMPLE_REQUESTS) -> str:
    session = requests.Session()
    seen: collections.Counter[str] = collections.Counter()
    for _ in range(count):
        try:
            body = session.get(info.productpage, params={"format": "json"}, timeout=5).json()
            seen[str(body.get("reviews_version"))] += 1
        except (requests.RequestException, ValueError):
            seen["error"] += 1
    return ", ".join(
        f"{v} {100 * n // count}% ({STARS.get(v, v)})" for v, n in sorted(seen.items())
    )


def live_route(wired: Wired) -> str:
    spec = wired.cluster.get_virtual_service("bookinfo", "reviews").get("spec") or {}
    routes = (spec.get("http") or [{}])[0].get("route") or []
    parts = [f"{r['destination'].get('subset')} {r.get('weight', 100)}%" for r in routes]
    return " / ".join(parts)


class Narrator:
    """Prints what changed at each tick: phase, step, route, answers, gates."""

    def __init__(self, say: Say, info: SandboxInfo, wired: Wired) -> None:
        self.say, self.info, self.wired = say, info, wired
        self.started = time.monotonic()
        self._last: tuple[object, ...] | None = None

    def __call__(self, outcome: TickOutcome) -> None:
        status = outcome.status
        if status is None:
            return
        verdicts = tuple((g.name, g.verdict) for g in status.gates)
        key = (outcome.phase, status.current_step, status.canary_weight, verdicts)
        for transition in outcome.transitions:
            self.say(f"  * {transition.reason}: {transition.message}")
        if key == self._last:
            return
        self._last = key
        elapsed = time.monotonic() - self.started
        phase = outcome.phase.value if outcome.phase else "?"
        self.say(
            f"  [{elapsed:5.1f}s] {phase:<11} step {status.current_step}/2  "
            f"route: {live_route(self.wired)}"
        )
        self.say(f"           productpage answers: {answer_shares(self.info)}")
        for gate in status.gates:
            value = "-" if gate.value is None else f"{gate.value:.3g}"
            self.say(
                f"           {gate.name:<12} {value:>7} (threshold {gate.threshold}) "
                f"{gate.verdict.value}{_evidence(gate)}"
            )


def _evidence(gate: GateStatus) -> str:
    """The sequential judge's counts and evidence, e.g. ' - canary 9/41, evidence 3e+03 of
    bound 200'."""
    found = gate.evidence
    if found is None:
        return ""
    return (
        f" - canary {found.canary_events}/{found.canary_requests}, evidence "
        f"{found.e_value:.2g} of bound {found.bound:.3g}"
    )


def _run_shift(wired: Wired, info: SandboxInfo, shift: TrafficShift, say: Say) -> TickOutcome:
    namespace, name = apply_with_retries(wired.cluster, shift, "bookinfo")
    options = DriveOptions(tick_seconds=0.5, timeout=None)
    return drive(
        wired.deps,
        namespace,
        name,
        options=options,
        on_tick=Narrator(say, info, wired),
        now=utc_now,
    )


def _reset_to_v1(wired: Wired) -> None:
    vs = wired.cluster.get_virtual_service("bookinfo", "reviews")
    route = [{"destination": {"host": "reviews", "subset": "v1"}}]
    wired.cluster.patch_virtual_service(
        "bookinfo",
        "reviews",
        [
            {
                "op": "replace",
                "path": "/metadata/resourceVersion",
                "value": vs["metadata"]["resourceVersion"],
            },
            {"op": "replace", "path": "/spec/http/0/route", "value": route},
        ],
    )


def _received_alerts(info: SandboxInfo, deadline: float) -> list[dict[str, Any]]:
    while True:
        records = requests.get(f"{info.sink}/received", timeout=5).json().get("received", [])
        alerts = [a for r in records for a in (r.get("body") or {}).get("alerts", [])]
        if alerts or time.monotonic() > deadline:
            return alerts
        time.sleep(0.25)


def act_one(wired: Wired, info: SandboxInfo, say: Say) -> bool:
    say("\nAct 1 - Istio's traffic shifting, unattended: reviews v1 -> v3 in steps of 50%.")
    say(f"  reviews now: {live_route(wired)}; answers: {answer_shares(info)}")
    outcome = _run_shift(wired, info, demo_shift("reviews-v3", alerts=False), say)
    say(
        f"  => {outcome.phase.value if outcome.phase else '?'}: route {live_route(wired)}; "
        f"answers: {answer_shares(info)}"
    )
    return outcome.phase is Phase.PROMOTED


def act_two(wired: Wired, info: SandboxInfo, say: Say) -> tuple[bool, list[dict[str, Any]]]:
    say("\nAct 2 - a faulty v3: 30% of its answers are 503s. Back to v1, and a new shift.")
    _reset_to_v1(wired)
    requests.post(
        f"{info.mesh_admin}/admin/faults", json={"version": "v3", "error_rate": 0.3}, timeout=5
    ).raise_for_status()
    outcome = _run_shift(wired, info, demo_shift("reviews-v3-faulty", alerts=True), say)
    say(f"  => {outcome.phase.value if outcome.phase else '?'}: route {live_route(wired)}")
    alerts = _received_alerts(info, time.monotonic() + 15)
    for alert in alerts:
        labels, notes = alert.get("labels", {}), alert.get("annotations", {})
        say(
            f"  Alert received by the sink via Alertmanager: {labels.get('alertname')} "
            f"severity={labels.get('severity')} trafficshift={labels.get('trafficshift')}"
        )
        say(f"    {notes.get('summary', '')}")
        if notes.get("evidence"):
            say(f"    evidence: {notes['evidence']}")
        say(f"    inspect with: {notes.get('kubectl', '')}")
    return outcome.phase is Phase.ROLLED_BACK, alerts


def run_demo(say: Say, directory: Path | None = None, rps: float = 40.0) -> DemoResult:
    with tempfile.TemporaryDirectory(prefix="weightgate-demo-") as scratch:
        where = directory or Path(scratch)
        say(
            f"Starting the sandbox in {where} (Kubernetes API stand-in, mesh, Prometheus, "
            "Alertmanager)..."
        )
        sandbox = Sandbox(where, rps=rps, keep_state=False)
        try:
            info = sandbox.start()
            settings = load_settings(sandbox_dir=where, check_interval="2s", log_level="error")
            wired = wire(settings)
            try:
                promoted = act_one(wired, info, say)
                rolled_back, alerts = act_two(wired, info, say)
            finally:
                wired.close()
        finally:
            sandbox.stop()
            say("Sandbox stopped.")
    return DemoResult(promoted, rolled_back, alerts)
