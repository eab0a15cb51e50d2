"""The operator's side of the acceptance tests: a controller daemon subprocess, test shifts
applied with kubectl, and `weightgate status|promote|abort|pause|resume|retry` run as a user
runs them (subprocesses against the sandbox)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from controller.api.trafficshift import TrafficShift
from controller.sandbox.stack import SandboxInfo
from tests.integration.alerting.sink_client import SinkClient
from tests.integration.controller.cluster_view import SandboxReader
from tests.integration.controller.harness import REPO, shift_manifest
from tests.integration.controller.knobs import kubectl, set_mesh_fault
from tests.integration.daemon.daemon_process import DaemonProcess
from tests.integration.sandbox_fixtures import poll


class Operator:
    def __init__(self, info: SandboxInfo, workdir: Path) -> None:
        self.info = info
        self.workdir = workdir
        self.sandbox_dir = Path(info.kubeconfig).parent
        self.reader = SandboxReader(info)
        self.sink = SinkClient(info.sink)
        self.daemon: DaemonProcess | None = None
        self.canary_faulted = False

    def start_daemon(self) -> None:
        self.daemon = DaemonProcess(self.info, self.workdir / "daemon.log")
        self.daemon.wait_ready()

    def fault_canary(self, **knobs: Any) -> None:
        self.canary_faulted = True
        set_mesh_fault(self.info, version="v3", **knobs)

    def new_shift(self, prefix: str, *, as_run_applies: bool = False, **options: Any) -> str:
        """Apply a test shift with kubectl. `as_run_applies`: with every default written out,
        as `weightgate run -f` applies it, so a later run of the same file changes no spec."""
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        manifest = shift_manifest(name, **options)
        if as_run_applies:
            manifest = TrafficShift.model_validate(manifest).to_manifest()
        self.manifest_path(name).write_text(json.dumps(manifest), encoding="utf-8")
        kubectl(self.info, "apply", "-f", str(self.manifest_path(name)))
        return name

    def manifest_path(self, name: str) -> Path:
        return self.workdir / f"{name}.json"

    def stop_daemon(self) -> None:
        if self.daemon is not None:
            self.daemon.kill()

    def weightgate(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "controller", *args, "--sandbox", str(self.sandbox_dir)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            check=False,
        )

    def status(self, name: str) -> dict[str, Any]:
        return self.reader.shift_status(name)

    def wait_for(self, name: str, what: str, check: Any, timeout: float = 60) -> dict[str, Any]:
        def seen() -> dict[str, Any] | None:
            status = self.status(name)
            return status if check(status) else None

        return poll(f"{name}: {what}", seen, timeout, every=0.2)

    def wait_phase(self, name: str, phase: str, timeout: float = 60) -> dict[str, Any]:
        return self.wait_for(name, f"phase {phase}", lambda s: s.get("phase") == phase, timeout)

    def daemon_output(self) -> str:
        return self.daemon.output() if self.daemon else ""

    def close(self) -> None:
        self.stop_daemon()
        self.reader.close()
        self.sink.close()
