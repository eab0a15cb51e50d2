"""`weightgate controller` as a test runs it: a real subprocess on the session sandbox, its JSON
log read back line by line, and the TrafficShifts and routes it drives read with kubectl."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
import yaml

from controller.sandbox.apiserver.admin import clear_faults
from controller.sandbox.istio import bookinfo_start_state
from controller.sandbox.stack import SandboxInfo
from tests.integration.sandbox_fixtures import delete_shifts, poll

REPO = Path(__file__).resolve().parents[3]
PROFILES = REPO / "config" / "gates"
TEST_LABEL = "weightgate.dev/test"
TEST_LABEL_VALUE = "daemon"
START_TIMEOUT = 30.0
# The second shift's own route: a VirtualService and DestinationRule nobody else uses.
SECOND_ROUTE = "ratings"


def sandbox_dir(info: SandboxInfo) -> Path:
    return Path(info.kubeconfig).parent


class DaemonProcess:
    """One `python -m controller controller --sandbox DIR --check-interval 1s` process."""

    def __init__(self, info: SandboxInfo, log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "controller",
                "controller",
                "--sandbox",
                str(sandbox_dir(info)),
                "--check-interval",
                "1s",
                "--profiles",
                str(PROFILES),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            # No log format given: stdout is a file, not a TTY, so the controller logs JSON.
            env={
                **{k: v for k, v in os.environ.items() if k != "WEIGHTGATE_LOG_FORMAT"},
                "PYTHONUNBUFFERED": "1",
            },
        )

    def wait_ready(self) -> None:
        self.wait_for("watch.listed", timeout=START_TIMEOUT)

    def records(self) -> list[dict[str, Any]]:
        """Every JSON log line written so far (anything else, e.g. a traceback, is skipped)."""
        records = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def find(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        return [
            r
            for r in self.records()
            if r.get("event") == event and all(r.get(k) == v for k, v in fields.items())
        ]

    def wait_for(self, event: str, timeout: float = 20.0, **fields: Any) -> dict[str, Any]:
        def seen() -> dict[str, Any] | None:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the controller exited with {self.process.returncode}:\n{self.output()}"
                )
            found = self.find(event, **fields)
            return found[0] if found else None

        return poll(f"log event {event} {fields}", seen, timeout)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a node dies."""
        if self.running:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def terminate(self, timeout: float) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._log.close()


def kubectl(
    info: SandboxInfo, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", info.kubeconfig, "-n", info.namespace, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


def apply(info: SandboxInfo, *objects: dict[str, Any]) -> None:
    kubectl(info, "apply", "-f", "-", stdin=yaml.safe_dump_all(objects))


def shifts(info: SandboxInfo) -> dict[str, dict[str, Any]]:
    """The TrafficShifts by name, read with a list (so a fault injected on `get` is left to
    the controller)."""
    listed = json.loads(kubectl(info, "get", "trafficshifts", "-o", "json").stdout)
    return {item["metadata"]["name"]: item for item in listed["items"]}


def status_of(info: SandboxInfo, name: str) -> dict[str, Any]:
    status: dict[str, Any] = shifts(info).get(name, {}).get("status") or {}
    return status


def wait_for_phase(info: SandboxInfo, name: str, phase: str, timeout: float) -> dict[str, Any]:
    return poll(
        f"TrafficShift {name} to be {phase}",
        lambda: (s := status_of(info, name)).get("phase") == phase and s,
        timeout,
        every=0.2,
    )


def route_of(info: SandboxInfo, virtual_service: str) -> list[dict[str, Any]]:
    vs = json.loads(kubectl(info, "get", "virtualservice", virtual_service, "-o", "json").stdout)
    route: list[dict[str, Any]] = vs["spec"]["http"][0]["route"]
    return route


def reset_shared_state(info: SandboxInfo) -> None:
    """Our shifts gone, reviews 100% on v1, no second route, no mesh or API faults."""
    clear_faults(info.api)
    delete_shifts(info, f"{TEST_LABEL}={TEST_LABEL_VALUE}")
    for kind in ("virtualservice", "destinationrule"):
        kubectl(info, "delete", kind, SECOND_ROUTE, "--ignore-not-found")
    all_v1 = [o for o in bookinfo_start_state(info.namespace) if o["kind"] == "VirtualService"]
    apply(info, *all_v1)
    requests.post(f"{info.mesh_admin}/admin/faults", json={"clear": True}, timeout=5)
