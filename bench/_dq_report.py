"""Figures of bench/decision_quality.py: per-cell statistics, the side-by-side table, the JSON.

Owns `cell_stats` (one judge on one cell: shares of rollbacks, promotions and deadline
rollbacks, median times from the shift's start, median canary 5xx served before the decision),
the exact key set of a JSON cell, and the per-scenario table with both judges side by side.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from _dq_traffic import SCENARIOS, Cell

JUDGES = ("sequential", "threshold")
CELL_KEYS = (
    "judge", "scenario", "base_error", "canary_error", "latency", "rps", "steps", "interval",
    "replications", "rolled_back_pct", "promoted_pct", "deadline_pct", "median_rollback_s",
    "median_promotion_s", "errors_served_median",
)  # fmt: skip

# One shift, as the workers send it back: outcome, deadline, seconds, errors served, checks.
Outcome = tuple[str, bool, float, int, int]


def _median(values: Sequence[float]) -> float | None:
    return None if not values else round(float(statistics.median(values)), 1)


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def cell_stats(judge: str, cell: Cell, shifts: Sequence[Outcome]) -> dict[str, Any]:
    """The JSON cell: exactly CELL_KEYS."""
    rolled = [s for s in shifts if s[0] == "rolled_back"]
    promoted = [s for s in shifts if s[0] == "promoted"]
    stats = {
        "judge": judge,
        "scenario": cell.scenario,
        "base_error": cell.base_error,
        "canary_error": round(cell.canary_error, 6),
        "latency": SCENARIOS[cell.scenario].latency,
        "rps": int(cell.rps) if float(cell.rps).is_integer() else cell.rps,
        "steps": list(cell.steps),
        "interval": cell.interval,
        "replications": len(shifts),
        "rolled_back_pct": _pct(len(rolled), len(shifts)),
        "promoted_pct": _pct(len(promoted), len(shifts)),
        "deadline_pct": _pct(sum(1 for s in rolled if s[1]), len(shifts)),
        "median_rollback_s": _median([s[2] for s in rolled]),
        "median_promotion_s": _median([s[2] for s in promoted]),
        "errors_served_median": _median([s[3] for s in shifts]),
    }
    assert tuple(stats) == CELL_KEYS
    return stats


def extra_stats(shifts: Sequence[Outcome]) -> dict[str, Any]:
    """What the JSON cells leave out: unfinished shifts and checks per shift."""
    return {
        "unfinished": sum(1 for s in shifts if s[0] == "unfinished"),
        "mean_checks": round(statistics.fmean(s[4] for s in shifts), 1) if shifts else 0.0,
    }


def _num(value: float | None, width: int, digits: int = 0) -> str:
    return "-".rjust(width) if value is None else f"{value:{width}.{digits}f}"


def _side(stats: dict[str, Any] | None) -> str:
    if stats is None:
        return " " * 37
    return (
        f"{stats['rolled_back_pct']:6.1f}{stats['promoted_pct']:6.1f}"
        f"{stats['deadline_pct']:5.1f}{_num(stats['median_rollback_s'], 6)}"
        f"{_num(stats['median_promotion_s'], 6)}{_num(stats['errors_served_median'], 7, 1)}"
    )


def table(
    cells: Sequence[Cell],
    stats: dict[tuple[Cell, str], dict[str, Any]],
    truths: dict[Cell, str],
    unfinished: dict[tuple[Cell, str], int],
) -> str:
    """One block per scenario; a row per cell with both judges side by side."""
    head = "   RB%   PR%  DL%   tRB   tPR  5xx/m"
    lines = []
    for name in SCENARIOS:
        rows = [c for c in cells if c.scenario == name]
        if not rows:
            continue
        scenario = SCENARIOS[name]
        canary = "20%" if scenario.error_factor is None else f"{scenario.error_factor:g}x base"
        lines += [
            "",
            f"== {name}: canary 5xx {canary}, latency {scenario.latency} ==",
            f"{'base%':>5} {'rps':>4} {'steps':<12}{'int':>4} {'truth':<5} |"
            f"{'sequential':^37}|{'threshold':^37}| unfinished",
            f"{'':34}|{head}|{head}|",
        ]
        for cell in rows:
            left, right = stats.get((cell, JUDGES[0])), stats.get((cell, JUDGES[1]))
            late = [unfinished.get((cell, j), 0) for j in JUDGES]
            steps = "-".join(str(s) for s in cell.steps)
            tail = f" {late[0]}/{late[1]}" if any(late) else ""
            lines.append(
                f"{100 * cell.base_error:5.1f} {cell.rps:4g} {steps:<12}{cell.interval:3d}s "
                f"{truths[cell]:<5} |{_side(left)}|{_side(right)}|{tail}"
            )
    lines += [
        "",
        "RB%/PR%/DL%: shares rolled back / promoted / rolled back by "
        "ProgressDeadlineExceeded (part of RB%); tRB/tPR: median seconds from the shift's "
        "start to the rollback/promotion; 5xx/m: median canary 5xx served before the "
        "decision; unfinished: shifts still running at the cap (sequential/threshold).",
    ]
    return "\n".join(lines)
