"""`weightgate status NAME --watch` in a real 80-column terminal (tmux): it redraws, fits, and
exits by itself when the shift ends."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid

import pytest

from tests.integration.controller.harness import REPO
from tests.integration.operate.operator import Operator
from tests.integration.sandbox_fixtures import poll


def tmux(*args: str) -> str:
    done = subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10, check=True)
    return done.stdout


def exited(session: str) -> str | None:
    screen = tmux("capture-pane", "-p", "-t", session)
    return screen if "WATCH-EXITED" in screen else None


def test_status_watch_fits_80_columns_and_exits_when_the_shift_ends(operator: Operator) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: the --watch test renders in a real terminal")
    name = operator.new_shift("op-watch", interval="3s")
    session = f"wg-watch-{uuid.uuid4().hex[:6]}"
    command = (
        f"{sys.executable} -m controller status {name} --watch -n {operator.info.namespace} "
        f"--sandbox {operator.sandbox_dir}; echo WATCH-EXITED-$?; sleep 60"
    )
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "60", "-c", str(REPO), command)
    try:
        screen = poll("status --watch to exit after promotion", lambda: exited(session), 90, 0.5)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False, timeout=10)
    assert "WATCH-EXITED-0" in screen
    assert f"TrafficShift {operator.info.namespace}/{name}: Promoted" in screen
    assert "route now:  v3 100%" in screen
    assert max(len(line) for line in screen.splitlines()) <= 80
