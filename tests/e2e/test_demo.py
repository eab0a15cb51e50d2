"""`weightgate demo` as a newcomer runs it: the tutorial promoted, the faulty canary rolled back
with its alert, exit 0, and nothing left running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found |= {int(entry.name)} | descendants(int(entry.name))
    return found


def test_demo_promotes_then_rolls_back_with_an_alert_and_leaves_nothing(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "controller", "demo", "--dir", str(tmp_path / "sandbox")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    seen_children: set[int] = set()
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        seen_children |= descendants(process.pid)
    code = process.wait(timeout=180)
    output = "".join(lines)
    assert code == 0, output
    assert "route: v1 50% / v3 50%" in output
    assert "=> Promoted: route v3 100%" in output
    assert "=> RolledBack: route v1 100%" in output
    assert "Alert received by the sink via Alertmanager: TrafficShiftRolledBack" in output
    assert len(seen_children) >= 5  # the sandbox really ran its parts...
    assert not [
        pid
        for pid in seen_children
        if Path(f"/proc/{pid}").exists() and " Z " not in Path(f"/proc/{pid}/stat").read_text()
    ]  # ...and stopped them
