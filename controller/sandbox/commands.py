"""What the ``weightgate sandbox`` commands do: run the stack until a signal, change faults.

Kept out of ``cli.py`` so the CLI stays a thin layer of argument parsing and exit codes.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from controller.sandbox.stack import Sandbox, SandboxError, SandboxInfo

CRASH_CHECK_SECONDS = 1.0


def run_until_signal(
    directory: Path, rps: float, announce: Callable[[SandboxInfo], None]
) -> list[str]:
    """Start the sandbox, call ``announce``, and run until SIGINT/SIGTERM or a part crashes.

    Returns the names of parts that crashed (empty after a clean stop by signal). Every part is
    stopped before returning, whatever happened.
    """
    stopping = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stopping.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    sandbox = Sandbox(directory, rps=rps)
    crashed: list[str] = []
    try:
        announce(sandbox.start())
        while not stopping.wait(CRASH_CHECK_SECONDS):
            crashed = sandbox.crashed_parts()
            if crashed:
                break
    finally:
        sandbox.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return crashed


def set_fault(
    directory: Path,
    version: str | None,
    *,
    error_rate: float | None = None,
    latency_ms: float | None = None,
    clear: bool = False,
) -> dict[str, Any]:
    """Change (or clear) one reviews version's fault knobs on the running sandbox's mesh."""
    info = SandboxInfo.read(directory)
    body: dict[str, Any] = {"clear": True} if clear else {}
    if version is not None:
        body["version"] = version
    if not clear:
        if error_rate is not None:
            body["error_rate"] = error_rate
        if latency_ms is not None:
            body["latency_ms"] = latency_ms
    try:
        response = requests.post(f"{info.mesh_admin}/admin/faults", json=body, timeout=5)
    except requests.RequestException as exc:
        raise SandboxError(f"the sandbox mesh at {info.mesh_admin} did not answer: {exc}") from exc
    if response.status_code != 200:
        raise SandboxError(
            f"the mesh refused the fault: HTTP {response.status_code}: {response.text}"
        )
    result: dict[str, Any] = response.json()
    return result
