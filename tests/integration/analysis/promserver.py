"""A real Prometheus for the analysis tests: started on a loopback port 0, stopped for sure.

Small on purpose and private to these tests (the sandbox has its own launcher). Prometheus is
told to listen on 127.0.0.1:0 and reports the port the OS picked in its "Listening on" log line,
so parallel runs never collide.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Self

import requests

_LISTENING = re.compile(r'msg="Listening on" address=127\.0\.0\.1:(\d+)')
START_DEADLINE_SECONDS = 20.0


def prometheus_binary() -> str | None:
    return shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )


class PrometheusServer:
    """One Prometheus process on a temp data dir; use as a context manager."""

    def __init__(self, binary: str, workdir: Path, scrape_targets: list[str]) -> None:
        self.workdir = workdir
        self.log_path = workdir / "prometheus.log"
        config = workdir / "prometheus.yml"
        config.write_text(_config(scrape_targets))
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                "--web.listen-address=127.0.0.1:0",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.url = ""

    def __enter__(self) -> Self:
        try:
            self.url = f"http://127.0.0.1:{self._wait_for_port()}"
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Terminate (resuming it first if frozen), then kill if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections (kernel backlog) but nothing answers."""
        self.process.send_signal(signal.SIGSTOP)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            match = _LISTENING.search(self.log_path.read_text(errors="replace"))
            if match:
                return int(match.group(1))
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"Prometheus did not start listening:\n{self.log_tail()}")

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"Prometheus at {self.url} never became ready:\n{self.log_tail()}")


def _config(scrape_targets: list[str]) -> str:
    lines = ["global:", "  scrape_interval: 1s", "  evaluation_interval: 1s", "scrape_configs:"]
    if not scrape_targets:
        return "\n".join([*lines[:-1], "scrape_configs: []", ""])
    lines += ["  - job_name: istio", "    static_configs:", f"      - targets: {scrape_targets!r}"]
    return "\n".join([*lines, ""])
