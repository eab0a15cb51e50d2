"""One `weightgate controller` process as the scale benchmark runs it: its settings file, its
mode (environment), and what the benchmark reads from outside it: /metrics, CPU time and peak
RSS from /proc. Stopped with SIGTERM, then SIGKILL, whatever happens.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from controller.sandbox.promstack.process import free_port

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


@dataclass(frozen=True)
class Mode:
    """A way of running the controller, set through its environment."""

    name: str
    env: dict[str, str]


MODES: dict[str, Mode] = {
    "optimized": Mode(
        "optimized", {"WEIGHTGATE_QUERY_BATCHING": "true", "WEIGHTGATE_WATCH_CACHE": "true"}
    ),
    "baseline": Mode(
        "baseline", {"WEIGHTGATE_QUERY_BATCHING": "false", "WEIGHTGATE_WATCH_CACHE": "false"}
    ),
}


def write_settings(
    path: Path,
    *,
    prometheus_url: str,
    kubeconfig: Path,
    metrics_port: int,
    check_interval: str,
    log_level: str,
) -> Path:
    """controller.yaml for one run, shaped like `weightgate sandbox up` writes it."""
    settings = {
        "prometheus_url": prometheus_url,
        "kubeconfig": str(kubeconfig),
        "metrics_host": "127.0.0.1",
        "metrics_port": metrics_port,
        "check_interval": check_interval,
        "gate_profiles_dir": str(REPO / "config" / "gates"),
        "log_format": "json",
        "log_level": log_level,
    }
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


class ControllerProcess:
    """`python -m controller controller --config FILE` with `mode`'s environment."""

    def __init__(self, workdir: Path, mode: Mode, settings: dict[str, str | Path]) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.mode = mode
        self.metrics_port = free_port()
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        self.settings_path = write_settings(
            workdir / "controller.yaml",
            prometheus_url=str(settings["prometheus_url"]),
            kubeconfig=Path(settings["kubeconfig"]),
            metrics_port=self.metrics_port,
            check_interval=str(settings["check_interval"]),
            log_level=str(settings["log_level"]),
        )
        self.log_path = workdir / "controller.log"
        self.started_at = 0.0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the controller is not started")
        return self._process.pid

    def start(self) -> None:
        env = {**os.environ, **self.mode.env, "PYTHONUNBUFFERED": "1"}
        argv = [
            sys.executable,
            "-m",
            "controller",
            "controller",
            "--config",
            str(self.settings_path),
        ]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env=env,
                start_new_session=True,  # Ctrl-C reaches the bench, which stops it in order
            )
        self.started_at = time.time()
        self._wait_for_metrics()

    def _wait_for_metrics(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if requests.get(self.metrics_url, timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"the controller did not serve {self.metrics_url} within {START_TIMEOUT:.0f}s; "
            f"see {self.log_path}:\n{self.log_tail()}"
        )

    def check_alive(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(
                f"the controller ({self.mode.name}) exited with {self._process.returncode}; "
                f"see {self.log_path}:\n{self.log_tail()}"
            )

    def started_record(self) -> dict[str, Any]:
        """The fields of its "controller.started" log line (empty until it is written)."""
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == "controller.started":
                return record
        return {}

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def metrics_text(self) -> str:
        response = requests.get(self.metrics_url, timeout=30)
        response.raise_for_status()
        return response.text

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the process so far (threads included)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text(encoding="ascii")
        fields = stat.rpartition(")")[2].split()
        utime, stime = int(fields[11]), int(fields[12])  # stat fields 14 and 15
        return (utime + stime) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
        raise RuntimeError(f"/proc/{self.pid}/status has no VmHWM line")

    def stop(self) -> None:
        """SIGTERM, wait, then SIGKILL; safe to call twice."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
