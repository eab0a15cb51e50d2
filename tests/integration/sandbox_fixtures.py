"""Pytest fixtures that expose a whole running sandbox to integration tests.

`running_sandbox` starts `weightgate sandbox up` as a user would (a separate process tree) and
yields its SandboxInfo; tests of later issues (the controller, alerts, operations) share one per
session, so the session pays Prometheus's start-up once. Helpers poll with deadlines.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import requests

from controller.sandbox.stack import INFO_FILE, SandboxInfo

T = TypeVar("T")
START_TIMEOUT = 90.0


def poll(what: str, probe: Callable[[], T | None], timeout: float, every: float = 0.25) -> T:
    """Call ``probe`` until it returns something other than None/False, or fail after
    ``timeout`` seconds saying ``what`` was awaited and the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last is not None and last is not False:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def prom_query(info: SandboxInfo, promql: str) -> list[dict[str, Any]]:
    response = requests.get(f"{info.prometheus}/api/v1/query", params={"query": promql}, timeout=5)
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def kubectl(info: SandboxInfo, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", info.kubeconfig, "-n", info.namespace, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


@contextmanager
def running_sandbox(
    directory: Path, rps: float = 40.0
) -> Iterator[tuple[SandboxInfo, subprocess.Popen[bytes]]]:
    """`weightgate sandbox up --dir DIR` in its own process; stopped with SIGTERM afterwards."""
    log = (directory / "up.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "controller",
            "sandbox",
            "up",
            "--dir",
            str(directory),
            "--rps",
            str(rps),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:

        def ready() -> SandboxInfo | None:
            if process.poll() is not None:
                raise AssertionError(
                    f"sandbox up exited with {process.returncode}:\n"
                    + (directory / "up.log").read_text(errors="replace")
                )
            return SandboxInfo.read(directory) if (directory / INFO_FILE).exists() else None

        info = poll("the sandbox to be ready", ready, START_TIMEOUT)
        yield info, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def delete_shifts(info: SandboxInfo, selector: str) -> None:
    """Delete the TrafficShifts matching `selector` in the sandbox namespace, also those that a
    stopped controller left holding its finalizer: they are let go by hand, as an admin
    would, so that a reset never hangs on them."""
    base = ["kubectl", "--kubeconfig", str(info.kubeconfig), "-n", info.namespace]

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*base, *args], capture_output=True, text=True, timeout=60, check=check
        )

    run("delete", "trafficshifts", "-l", selector, "--ignore-not-found", "--wait=false")
    for name in run("get", "trafficshifts", "-l", selector, "-o", "name").stdout.split():
        run("patch", name, "--type=merge", "-p", '{"metadata":{"finalizers":null}}', check=False)
