"""The shared sandbox as these tests use it: our TrafficShifts (labelled so only ours are ever
deleted), the v3 fault knob, the probe route a second shift can hold on, reads of statuses and
Events with the real kubectl, and putting everything back (`reset`).

Faulty v3 samples stay in Prometheus's 10s window for a while after a test; waiting them out
after every test would cost ~10s each, so `CanaryFaults` remembers that a fault was set and the
wait happens only where it matters: before a test that needs a healthy canary, and once when the
package is done (so the suites after this one start clean). Tests that only need the first step
either fault the canary themselves or set a minRequests no window can reach, so leftover faulty
traffic cannot change their outcome.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from controller.sandbox.apiserver.admin import clear_faults
from controller.sandbox.stack import SandboxInfo
from tests.integration.alerting.sink_client import SinkClient
from tests.integration.controller.cluster_view import SandboxReader, canary_weight
from tests.integration.controller.harness import ShiftUnderTest, shift_manifest
from tests.integration.controller.knobs import (
    all_v1_spec,
    apply_reviews,
    kubectl,
    set_mesh_fault,
    wait_canary_quiet,
)
from tests.integration.sandbox_fixtures import delete_shifts, poll

LABEL = "weightgate.dev/acceptance"
LABEL_VALUE = "alerting"
WINDOW = "10s"  # the analysis window of every test shift
PROBE_ROUTE = "alerting-probe"  # a VirtualService no traffic reaches: its shift only holds


class MissingEventError(AssertionError):
    """An Event the controller should have recorded is not there (a test marks the known bug
    behind it with ``xfail(raises=MissingEventError, strict=True)``)."""


@dataclass
class CanaryFaults:
    """Whether faulty v3 traffic may still be inside Prometheus's window."""

    faulted: bool = False

    def wait_healthy(self, info: SandboxInfo, *, even_if_not_faulted: bool = False) -> None:
        """Until no v3 request is left in the window; at once when none can be (one query
        when `even_if_not_faulted`: another suite may have left some)."""
        if self.faulted or even_if_not_faulted:
            wait_canary_quiet(info, WINDOW)
            self.faulted = False


@dataclass
class Observed:
    """A moment something was first seen by a poller (time.monotonic)."""

    at: float
    value: Any


@dataclass
class Scene:
    """One test's handle on the shared sandbox; `reset` undoes what it changed."""

    info: SandboxInfo
    workdir: Path
    canary: CanaryFaults
    reader: SandboxReader = field(init=False)
    sink: SinkClient = field(init=False)

    def __post_init__(self) -> None:
        self.reader = SandboxReader(self.info)
        self.sink = SinkClient(self.info.sink)

    @property
    def sandbox_dir(self) -> Path:
        return Path(self.info.kubeconfig).parent

    def fault_canary(self, error_rate: float = 0.3) -> None:
        self.canary.faulted = True
        set_mesh_fault(self.info, version="v3", error_rate=error_rate)

    def new_shift(
        self, prefix: str, alerts: list[dict[str, Any]], **options: Any
    ) -> ShiftUnderTest:
        """A uniquely named short-interval v1 -> v3 shift on reviews with these alert routes,
        written to a file (for `weightgate run -f`); see `shift_manifest` for the options."""
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        spec = {"alerts": alerts, **options.pop("spec", {})}
        manifest = shift_manifest(name, spec=spec, **options)
        manifest["metadata"]["labels"] = {LABEL: LABEL_VALUE}
        path = self.workdir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
        return ShiftUnderTest(name, path, manifest)

    def apply(self, shift: ShiftUnderTest) -> None:
        kubectl(self.info, "apply", "-f", str(shift.path))

    def status(self, name: str) -> dict[str, Any]:
        return self.reader.shift_status(name)

    def weight(self) -> int:
        return canary_weight(self.reader.virtual_service())

    def wait_phase(self, name: str, phase: str, timeout: float) -> dict[str, Any]:
        def in_phase() -> dict[str, Any] | None:
            status = self.status(name)
            return status if status.get("phase") == phase else None

        return poll(f"TrafficShift {name} to be {phase}", in_phase, timeout, every=0.1)

    def wait_rolled_back(self, name: str, timeout: float = 40) -> tuple[Observed, Observed]:
        """Polls every 0.1s until the shift is RolledBack and reviews, after carrying canary
        traffic, is back on v1; returns when each was first seen, to compare them. Call it
        right after the shift is applied (before its first step can have been undone)."""
        status_seen: Observed | None = None
        route_seen: Observed | None = None
        carried_canary = False

        def both() -> bool:
            nonlocal status_seen, route_seen, carried_canary
            now = time.monotonic()
            status, weight = self.status(name), self.weight()
            carried_canary = carried_canary or weight > 0
            if status_seen is None and status.get("phase") == "RolledBack":
                status_seen = Observed(now, status)
            if route_seen is None and carried_canary and weight == 0:
                route_seen = Observed(now, weight)
            return status_seen is not None and route_seen is not None

        poll(f"TrafficShift {name} to roll back and reviews to be on v1", both, timeout, 0.1)
        assert status_seen is not None
        assert route_seen is not None
        return status_seen, route_seen

    def events(self, name: str) -> list[dict[str, Any]]:
        """The Kubernetes Events about TrafficShift `name`, as kubectl lists them."""
        listed = json.loads(kubectl(self.info, "get", "events", "-o", "json").stdout)
        return [e for e in listed["items"] if e["involvedObject"].get("name") == name]

    def wait_events(
        self, name: str, reason: str, expected: int, timeout: float
    ) -> list[dict[str, Any]]:
        """Until `expected` Events with `reason` about `name` are listed; MissingEventError
        (naming what was there) when they are not within `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.events(name)
            found = [e for e in events if e["reason"] == reason]
            if len(found) >= expected:
                return found
            if time.monotonic() >= deadline:
                seen = [(e["reason"], e["message"][:80]) for e in events]
                raise MissingEventError(
                    f"expected {expected} {reason} Event(s) about {name} within {timeout:g}s, "
                    f"found {len(found)}; all its Events: {seen}"
                )
            time.sleep(0.2)

    def apply_probe_route(self) -> None:
        """VirtualService and DestinationRule `alerting-probe` (v1, v3), which no traffic
        reaches: a shift on it holds and checks its gates every check interval."""
        meta = {"name": PROBE_ROUTE, "namespace": self.info.namespace}
        group = "networking.istio.io/v1"
        subsets = [{"name": v, "labels": {"version": v}} for v in ("v1", "v3")]
        route = [{"destination": {"host": PROBE_ROUTE, "subset": "v1"}}]
        objects = [
            {
                "apiVersion": group,
                "kind": "DestinationRule",
                "metadata": meta,
                "spec": {"host": PROBE_ROUTE, "subsets": subsets},
            },
            {
                "apiVersion": group,
                "kind": "VirtualService",
                "metadata": meta,
                "spec": {"hosts": [PROBE_ROUTE], "http": [{"route": route}]},
            },
        ]
        kubectl(self.info, "apply", "-f", "-", stdin=yaml.safe_dump_all(objects))

    def reset(self) -> None:
        """No faults, none of our shifts, no probe route, reviews all on v1, an empty sink
        that accepts everything."""
        clear_faults(self.info.api)
        set_mesh_fault(self.info, clear=True)
        delete_shifts(self.info, f"{LABEL}={LABEL_VALUE}")
        for kind in ("virtualservice", "destinationrule"):
            kubectl(self.info, "delete", kind, PROBE_ROUTE, "--ignore-not-found")
        apply_reviews(self.info, all_v1_spec())
        self.sink.fail_next(0)
        self.sink.clear()

    def close(self) -> None:
        self.reader.close()
        self.sink.close()
