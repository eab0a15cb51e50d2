"""Stopping the sandbox's processes leaves no process and no listening port behind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from controller.sandbox.promstack import (
    AlertmanagerProcess,
    ManagedProcess,
    PrometheusProcess,
    PythonModuleProcess,
    port_is_open,
)
from tests.integration.promstack.helpers import poll_until

pytestmark = pytest.mark.integration


def children_of_this_process() -> set[int]:
    children = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == os.getpid():
            children.add(int(entry.name))
    return children


def test_stopping_every_process_leaves_nothing_behind(tmp_path: Path) -> None:
    before = children_of_this_process()
    mesh = PythonModuleProcess("controller.sandbox.mesh", ["--rps", "20"], tmp_path, "mesh")
    sink = PythonModuleProcess("controller.sandbox.sink", [], tmp_path, "sink")
    started: list[ManagedProcess] = [mesh, sink]
    try:
        mesh.start()
        sink.start()
        alertmanager = AlertmanagerProcess(f"{sink.url}/alerts", tmp_path)
        started.append(alertmanager)
        alertmanager.start()
        prometheus = PrometheusProcess([mesh.url.removeprefix("http://")], tmp_path)
        started.append(prometheus)
        prometheus.start()
        ports = [int(p.url.rsplit(":", 1)[1]) for p in (mesh, sink, alertmanager, prometheus)]
        assert all(port_is_open(port) for port in ports)
        pids = {p.pid for p in started}
        assert pids <= children_of_this_process()
    finally:
        for process in reversed(started):
            process.stop()

    for process in started:
        assert process.process is not None
        assert process.process.returncode is not None, f"{process.name} still running"
        with pytest.raises(ProcessLookupError):
            os.kill(process.process.pid, 0)  # reaped, not a zombie
    assert children_of_this_process() <= before
    assert not any(port_is_open(port) for port in ports)


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = ManagedProcess("stubborn", tmp_path)
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('handler', 'installed', flush=True); time.sleep(60)"
    )
    stubborn.spawn([sys.executable, "-c", code])
    try:
        poll_until(
            lambda: "handler installed" in stubborn.log_tail() or None,
            timeout=10,
            what="the child to install its handler",
            interval=0.05,
        )
    finally:
        stubborn.stop(timeout=0.5)
    assert stubborn.process is not None
    assert stubborn.process.returncode == -9


def test_stop_twice_is_harmless(tmp_path: Path) -> None:
    sink = PythonModuleProcess("controller.sandbox.sink", [], tmp_path, "sink").start()
    sink.stop()
    sink.stop()
    assert sink.process is not None
    assert sink.process.returncode == 0, "the sink exits cleanly on SIGTERM"
