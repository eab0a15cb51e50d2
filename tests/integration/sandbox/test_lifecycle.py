"""`weightgate sandbox up` stops every child and frees every port: on SIGTERM, and when a part
crashes."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path
from urllib.parse import urlparse

from controller.sandbox.stack import SandboxInfo
from tests.integration.sandbox_fixtures import poll, running_sandbox


def child_pids(parent: int) -> set[int]:
    children: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 of /proc/PID/stat is the parent pid; the command may contain spaces.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent:
            children.add(int(entry.name))
    return children


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and " Z " not in stat.read_text()


def listening(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=0.5):
            return True
    except OSError:
        return False


def service_urls(info: SandboxInfo) -> list[str]:
    return [info.api, info.prometheus, info.alertmanager, info.mesh_admin, info.sink]


def test_sigterm_leaves_no_child_and_no_port(tmp_path: Path) -> None:
    with running_sandbox(tmp_path, rps=5) as (info, process):
        children = child_pids(process.pid)
        assert len(children) == 5, children  # api, sink, alertmanager, mesh, prometheus
        assert all(listening(url) for url in service_urls(info))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert not [pid for pid in children if alive(pid)]
    assert not [url for url in service_urls(info) if listening(url)]


def test_a_crashed_part_stops_the_rest_and_fails(tmp_path: Path) -> None:
    with running_sandbox(tmp_path, rps=5) as (info, process):
        children = child_pids(process.pid)
        mesh_port = urlparse(info.mesh_admin).port
        mesh_pid = next(
            pid
            for pid in children
            if "controller.sandbox.mesh" in Path(f"/proc/{pid}/cmdline").read_text()
        )
        os.kill(mesh_pid, signal.SIGKILL)
        assert process.wait(timeout=30) == 1
        assert mesh_port is not None
    poll("every child to exit", lambda: not [pid for pid in children if alive(pid)], 10)
    assert not [url for url in service_urls(info) if listening(url)]
    assert "mesh" in (tmp_path / "up.log").read_text()
