"""The rollback-time benchmark's figures: per configuration and fault kind, how many runs rolled
back and how fast (median, max), beside Flagger's bound and the issue's target, plus the
machine and the settings they were measured with, as a printed table and a JSON document.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _rollback_run import RunResult, RunSpec

# Flagger checks every `interval` and rolls back after `threshold` failed checks; its builtin
# metrics look back over a fixed 1m window. For interval 10s and threshold 2: 10*2 + 60 = 80 s.
FLAGGER_INTERVAL_SECONDS = 10
FLAGGER_THRESHOLD = 2
FLAGGER_WINDOW_SECONDS = 60
FLAGGER_BOUND_SECONDS = FLAGGER_INTERVAL_SECONDS * FLAGGER_THRESHOLD + FLAGGER_WINDOW_SECONDS
TARGET_MEDIAN_SECONDS = 25.0


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "commit": _commit(),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def _commit() -> str:
    """HEAD, marked `+changes` when controller/ differs from it (others' work in progress
    runs too when they share the checkout)."""
    repo = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" +changes in controller/" if git("status", "--porcelain", "controller") else "")


def summarize(plan: Sequence[RunSpec], results: Sequence[RunResult]) -> list[dict[str, Any]]:
    """One row per (configuration, fault kind), in plan order."""
    keys = list(dict.fromkeys((run.config, run.fault) for run in plan))
    rows = []
    for config, fault in keys:
        planned = sum(1 for run in plan if (run.config, run.fault) == (config, fault))
        mine = [r for r in results if (r.config, r.fault) == (config, fault)]
        times = [r.rollback_seconds for r in mine if r.rollback_seconds is not None]
        detect = [r.first_failure_seconds for r in mine if r.first_failure_seconds is not None]
        rows.append(
            {
                "config": config,
                "fault": fault,
                "planned": planned,
                "done": len(mine),
                "rolled_back": sum(1 for r in mine if r.outcome == "rolled-back"),
                "promoted": sum(1 for r in mine if r.outcome == "promoted"),
                "timeout": sum(1 for r in mine if r.outcome == "timeout"),
                "error": sum(1 for r in mine if r.outcome == "error"),
                "median_seconds": _round(statistics.median(times)) if times else None,
                "max_seconds": _round(max(times)) if times else None,
                "min_seconds": _round(min(times)) if times else None,
                "median_first_failure_seconds": _round(statistics.median(detect))
                if detect
                else None,
                "rolled_back_by": dict(
                    Counter(r.trigger for r in mine if r.outcome == "rolled-back")
                ),
                "flagger_bound_seconds": FLAGGER_BOUND_SECONDS,
                "meets_target": bool(times)
                and statistics.median(times) < TARGET_MEDIAN_SECONDS
                and len(times) == planned,
            }
        )
    return rows


def _round(value: float) -> float:
    return round(value, 1)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(rows: Sequence[dict[str, Any]]) -> str:
    header = (
        f"{'config':<9} {'fault':<11} {'rolled back':>11} {'median s':>9} {'max s':>7} "
        f"{'1st fail s':>10} {'Flagger s':>9}  target (median < {TARGET_MEDIAN_SECONDS:.0f} s)"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        counts = f"{row['rolled_back']}/{row['planned']}"
        verdict = "met" if row["meets_target"] else "MISSED"
        lines.append(
            f"{row['config']:<9} {row['fault']:<11} {counts:>11} "
            f"{_cell(row['median_seconds']):>9} {_cell(row['max_seconds']):>7} "
            f"{_cell(row['median_first_failure_seconds']):>10} "
            f"{row['flagger_bound_seconds']:>9}  {verdict}"
        )
        lines.append(f"{'':<21} rolled back by: {row['rolled_back_by'] or '-'}")
        misses = {k: row[k] for k in ("promoted", "timeout", "error") if row[k]}
        if misses or row["done"] < row["planned"]:
            lines.append(f"{'':<21} not rolled back: {misses or 'none'}; run {row['done']}")
    return "\n".join(lines)


def cpu_lines(cpu: dict[str, float], seconds: float) -> list[str]:
    lines = []
    for name, used in sorted(cpu.items(), key=lambda item: -item[1]):
        share = 100.0 * used / seconds if seconds > 0 else 0.0
        lines.append(f"  {name:<15} {used:7.1f} CPU s  {share:5.1f}% of one core")
    return lines


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
