"""The controller as these tests run it: `weightgate controller` (a real subprocess whose JSON
log is read back and whose /metrics, /healthz and /readyz are scraped) and `weightgate run`,
both on the session sandbox, with an optional settings file and extra environment (secrets).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.sandbox_fixtures import poll

REPO = Path(__file__).resolve().parents[3]
PROFILES = REPO / "config" / "gates"
CHECK_INTERVAL = "1s"
START_TIMEOUT = 30.0
RUN_DEADLINE = 90.0


def controller_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    """This process's environment without WEIGHTGATE_* settings (so only the test's settings
    apply; off a TTY the controller logs JSON), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIGHTGATE_")}
    return {**env, "PYTHONUNBUFFERED": "1", **(extra or {})}


def _settings_args(sandbox_dir: Path, config: Path | None) -> list[str]:
    args = ["--sandbox", str(sandbox_dir), "--check-interval", CHECK_INTERVAL]
    args += ["--profiles", str(PROFILES)]
    return args + (["--config", str(config)] if config is not None else [])


class Daemon:
    """One `python -m controller controller` watching the sandbox namespace."""

    def __init__(
        self,
        sandbox_dir: Path,
        namespace: str,
        log_path: Path,
        *,
        config: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        argv = [sys.executable, "-m", "controller", "controller", "-n", namespace]
        self.process = subprocess.Popen(
            argv + _settings_args(sandbox_dir, config),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
            env=controller_env(env),
        )
        self.base_url = ""

    def wait_started(self) -> Daemon:
        """Until the daemon has listed its shifts; learns where /metrics is served."""
        started = self.wait_for("controller.started", timeout=START_TIMEOUT)
        self.base_url = str(started["metrics_url"]).removesuffix("/metrics")
        self.wait_for("watch.listed", timeout=START_TIMEOUT)
        return self

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def records(self) -> list[dict[str, Any]]:
        """Every JSON log line so far (anything else, e.g. a traceback, is skipped)."""
        found: list[dict[str, Any]] = []
        for line in self.output().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                found.append(record)
        return found

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

    def get(self, path: str) -> requests.Response:
        return requests.get(self.base_url + path, timeout=5)

    def metrics(self) -> list[tuple[str, dict[str, str], float]]:
        """Every sample /metrics shows now: (name, labels, value)."""
        response = self.get("/metrics")
        response.raise_for_status()
        return [
            (sample.name, dict(sample.labels), float(sample.value))
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        ]

    def sample(self, name: str, **labels: str) -> float | None:
        """The value of the one series `name` with (at least) these labels, None if absent."""
        values = [
            value
            for sample, have, value in self.metrics()
            if sample == name and all(have.get(k) == v for k, v in labels.items())
        ]
        assert len(values) <= 1, f"{name}{labels} matches {len(values)} series"
        return values[0] if values else None

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a node dies."""
        if self.running:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()


@dataclass(frozen=True)
class RunResult:
    code: int
    output: str
    seconds: float


def run_pipeline(
    sandbox_dir: Path,
    manifest: Path,
    log_path: Path,
    *,
    config: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> RunResult:
    """`weightgate run -f MANIFEST --sandbox DIR` to its end (killed after RUN_DEADLINE)."""
    argv = [sys.executable, "-m", "controller", "run", "-f", str(manifest)]
    argv += [*_settings_args(sandbox_dir, config), "--tick-seconds", "0.5"]
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
            env=controller_env(env),
        )
        try:
            code = process.wait(timeout=RUN_DEADLINE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(
                f"weightgate run did not exit within {RUN_DEADLINE:.0f}s:\n"
                + log_path.read_text(errors="replace")
            ) from None
    output = log_path.read_text(encoding="utf-8", errors="replace")
    return RunResult(code, output, time.monotonic() - started)
