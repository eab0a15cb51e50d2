"""Controller replicas as the leader-election tests run them: real `weightgate controller`
subprocesses on the session sandbox, each with its own identity and short Lease timings, whose
JSON logs and /metrics are read back, and which a test can SIGKILL, SIGSTOP/SIGCONT or SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from controller.sandbox.stack import SandboxInfo
from tests.integration.controller.cluster_view import STEP_REASONS
from tests.integration.sandbox_fixtures import poll

REPO = Path(__file__).resolve().parents[3]
PROFILES = REPO / "config" / "gates"
LEASE_NAMESPACE = "default"
LEASE_NAME = "weightgate-controller"
# Short enough that a takeover fits a test, long enough that a loaded CI box never misses a
# renew: retry < renew deadline < lease duration, as the settings require.
LEASE_SECONDS = 6
RENEW_DEADLINE_SECONDS = 4
RETRY_SECONDS = 1
START_TIMEOUT = 30.0
# Log lines only a replica that runs ticks writes: a follower's ticks return before any of them.
ACTING_EVENTS = frozenset(
    {"tick.done", "gate.checked", "shift.transition", "status.conflict", "confirm.deferred"}
)


def replica_environment(identity: str) -> dict[str, str]:
    """The process environment: leader election on, this identity, the short timings, and
    debug logs (a tick that ran logs `tick.done` at debug level)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("WEIGHTGATE_")}
    return {
        **inherited,
        "PYTHONUNBUFFERED": "1",
        "WEIGHTGATE_LEADER_ELECTION": "true",
        "WEIGHTGATE_LEASE_NAMESPACE": LEASE_NAMESPACE,
        "WEIGHTGATE_LEASE_NAME": LEASE_NAME,
        "WEIGHTGATE_IDENTITY": identity,
        "WEIGHTGATE_LEASE_DURATION": f"{LEASE_SECONDS}s",
        "WEIGHTGATE_RENEW_DEADLINE": f"{RENEW_DEADLINE_SECONDS}s",
        "WEIGHTGATE_RETRY_PERIOD": f"{RETRY_SECONDS}s",
        "WEIGHTGATE_LOG_LEVEL": "debug",
    }


class Replica:
    """One `python -m controller controller --sandbox DIR --check-interval 1s` process.

    Its log is a file (not a TTY), so the controller writes JSON lines; a byte offset into that
    file (`mark()`) lets a test read only what was logged after some moment.
    """

    def __init__(self, info: SandboxInfo, identity: str, log_path: Path) -> None:
        self.identity = identity
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "controller",
                "controller",
                "--sandbox",
                str(Path(info.kubeconfig).parent),
                "--check-interval",
                "1s",
                "--profiles",
                str(PROFILES),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
            env=replica_environment(identity),
        )

    def __repr__(self) -> str:
        return f"Replica({self.identity}, pid {self.process.pid})"

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def mark(self) -> int:
        """Where the log ends now: pass to `find(since=...)` to see only later lines."""
        return self.log_path.stat().st_size

    def records(self, since: int = 0) -> list[dict[str, Any]]:
        """The JSON log lines from byte offset `since` on (anything else is skipped)."""
        with self.log_path.open("rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        found = []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                found.append(record)
        return found

    def find(self, event: str, since: int = 0, **fields: Any) -> list[dict[str, Any]]:
        return [
            r
            for r in self.records(since)
            if r.get("event") == event and all(r.get(k) == v for k, v in fields.items())
        ]

    def acting(self, since: int = 0) -> list[dict[str, Any]]:
        """Log lines that only a replica running ticks writes."""
        return [r for r in self.records(since) if r.get("event") in ACTING_EVENTS]

    def steps_taken(self, shift: str, since: int = 0) -> list[str]:
        """Reasons of the step-taking transitions this replica logged for `shift` (a Holding
        while the canary's window fills up takes no step)."""
        return [
            r["reason"]
            for r in self.find("shift.transition", since, shift=shift)
            if r["reason"] in STEP_REASONS
        ]

    def wait_for(
        self, event: str, timeout: float = 20.0, since: int = 0, **fields: Any
    ) -> dict[str, Any]:
        def seen() -> dict[str, Any] | None:
            if not self.running:
                raise AssertionError(
                    f"{self} exited with {self.process.returncode}:\n{self.output()}"
                )
            found = self.find(event, since, **fields)
            return found[0] if found else None

        return poll(f"{self} to log {event} {fields}", seen, timeout, every=0.1)

    def wait_ready(self) -> None:
        self.wait_for("watch.listed", timeout=START_TIMEOUT)

    def leader_gauge(self) -> float:
        """`weightgate_leader` from this replica's /metrics."""
        url = self.wait_for("controller.started")["metrics_url"]
        response = requests.get(url, timeout=5)
        response.raise_for_status()
        for line in response.text.splitlines():
            name, _, value = line.partition(" ")
            if name == "weightgate_leader":
                return float(value)
        raise AssertionError(f"{url} has no weightgate_leader sample:\n{response.text}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def freeze(self) -> None:
        """SIGSTOP: every thread stops where it is, as in a long GC pause or a paused VM."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL (frozen or not): no clean-up of any kind, as when a node dies."""
        if self.running:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def terminate(self, timeout: float) -> int:
        """SIGTERM and wait for the exit code."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._log.close()


Pair = tuple[Replica, Replica]  # (leader, follower)
