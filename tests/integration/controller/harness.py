"""Driving `weightgate run` as a user does, with intervals short enough for tests.

Owns the test shifts (the tutorial sample config/samples/bookinfo-reviews-v3.yaml with short
intervals and a unique name), the controller process (a real `python -m controller run`
subprocess that can be SIGKILLed) and `Harness`, which a test uses to start runs against the
session sandbox and which stops every run it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from controller.sandbox.stack import SandboxInfo
from tests.integration.controller.cluster_view import SandboxReader
from tests.integration.controller.knobs import TEST_LABEL, TEST_LABEL_VALUE, set_mesh_fault

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "config" / "samples" / "bookinfo-reviews-v3.yaml"
PROFILES = REPO / "config" / "gates"

CHECK_INTERVAL = 1.0  # --check-interval: seconds between gate checks
TICK = 0.5  # --tick-seconds
SCRAPE = 1.0  # the sandbox Prometheus scrapes the mesh every second
RUN_DEADLINE = 120.0  # no test's run may take longer than this


@dataclass(frozen=True)
class ShiftUnderTest:
    """A short-interval copy of the tutorial's TrafficShift, written to `path`."""

    name: str
    path: Path
    manifest: dict[str, Any]

    @property
    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.manifest["spec"]
        return spec

    @property
    def steps(self) -> list[int]:
        return list(self.spec["steps"])

    @property
    def interval(self) -> float:
        return seconds(self.spec["interval"])

    @property
    def window(self) -> float:
        return seconds(self.spec["analysis"]["window"])

    @property
    def failure_limit(self) -> int:
        return int(self.spec["analysis"]["failureLimit"])


def seconds(duration: str) -> float:
    """A test duration ("10s") in seconds; tests write every duration in seconds."""
    assert duration.endswith("s"), f"test durations are written in seconds, got {duration}"
    return float(duration[:-1])


def shift_manifest(
    name: str,
    *,
    steps: Sequence[int] = (50, 100),
    interval: str = "5s",
    window: str = "10s",
    min_requests: int = 5,
    failure_limit: int = 2,
    progress_deadline: str = "60s",
    spec: dict[str, Any] | None = None,
    judge: str = "threshold",
) -> dict[str, Any]:
    """The tutorial sample (v1 -> v3 on reviews, default gates) with test-sized timings.

    The threshold judge by default: most tests here pin down its window and failureLimit
    semantics; the sequential judge's tests ask for it."""
    manifest: dict[str, Any] = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    manifest["metadata"]["name"] = name
    manifest["metadata"]["labels"] = {TEST_LABEL: TEST_LABEL_VALUE}
    manifest["spec"].update(steps=list(steps), interval=interval, **(spec or {}))
    manifest["spec"]["analysis"].update(
        judge=judge,
        window=window,
        minRequests=min_requests,
        failureLimit=failure_limit,
        progressDeadline=progress_deadline,
    )
    return manifest


@dataclass
class ControllerRun:
    """One `weightgate run` process; its output goes to `log_path`."""

    process: subprocess.Popen[bytes]
    log_path: Path
    started_at: float = field(default_factory=time.monotonic)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float = RUN_DEADLINE) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.sigkill()
            raise AssertionError(
                f"weightgate run did not exit within {timeout:.0f}s:\n{self.output()}"
            ) from None

    def sigkill(self) -> None:
        if self.running:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@dataclass(frozen=True)
class RunResult:
    code: int
    output: str
    seconds: float


class Harness:
    """Starts shifts and controller runs for one test; `stop_runs` kills what is left."""

    def __init__(self, info: SandboxInfo, workdir: Path) -> None:
        self.info = info
        self.workdir = workdir
        self.sandbox_dir = Path(info.kubeconfig).parent
        self.reader = SandboxReader(info)
        self._runs: list[ControllerRun] = []
        self.canary_faulted = False

    def fault_canary(self, **knobs: Any) -> None:
        """Set v3's mesh fault knobs (e.g. error_rate=0.2); remembered so the teardown waits
        until no faulty v3 traffic is left in Prometheus's window for the next test."""
        self.canary_faulted = True
        set_mesh_fault(self.info, version="v3", **knobs)

    def new_shift(self, prefix: str, **options: Any) -> ShiftUnderTest:
        """A uniquely named test shift (see `shift_manifest` for the options)."""
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        manifest = shift_manifest(name, **options)
        path = self.workdir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
        return ShiftUnderTest(name, path, manifest)

    def start(
        self,
        shift: ShiftUnderTest,
        *,
        prometheus_url: str | None = None,
        timeout: float | None = None,
        check_interval: float = CHECK_INTERVAL,
    ) -> ControllerRun:
        argv = [
            sys.executable,
            "-m",
            "controller",
            "run",
            "-f",
            str(shift.path),
            "--sandbox",
            str(self.sandbox_dir),
            "--profiles",
            str(PROFILES),
            "--check-interval",
            f"{check_interval:g}s",
            "--tick-seconds",
            f"{TICK:g}",
        ]
        if prometheus_url:
            argv += ["--prometheus-url", prometheus_url]
        if timeout:
            argv += ["--timeout", f"{timeout:g}"]
        log_path = self.workdir / f"{shift.name}-run{len(self._runs) + 1}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, stdin=subprocess.DEVNULL
            )
        run = ControllerRun(process, log_path)
        self._runs.append(run)
        return run

    def run(
        self, shift: ShiftUnderTest, deadline: float = RUN_DEADLINE, **options: Any
    ) -> RunResult:
        """`weightgate run` to its end; the exit code, its output and how long it took."""
        run = self.start(shift, **options)
        code = run.wait(deadline)
        return RunResult(code, run.output(), time.monotonic() - run.started_at)

    def status(self, shift: ShiftUnderTest) -> dict[str, Any]:
        return self.reader.shift_status(shift.name)

    def stop_runs(self) -> None:
        """SIGKILL every run this harness started that is still going."""
        for run in self._runs:
            if run.running:
                run.sigkill()

    def close(self) -> None:
        self.stop_runs()
        self.reader.close()
