"""The acceptance figures of bench/decision_quality.py: each line PASS or MISS, with its cells.

Owns the list of acceptance lines for the sequential judge (false rollbacks of a healthy canary,
catches and times to rollback of bad ones, 5xx served and promotion time against the threshold
judge on the same streams) and how they print: every line names how many cells it checked, its
worst cell, and on a MISS every cell that missed with its figure. A line with no cell in the run
(filters) prints n/a. "Caught" is rolled back, for any reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _dq_traffic import Cell

Stats = dict[tuple[Cell, str], dict[str, Any]]
# (sequential figures, threshold figures or None) -> (met, shown figure, badness for "worst")
Rule = Callable[[dict[str, Any], dict[str, Any] | None], tuple[bool, str, float]]
_LADDER = (10, 20, 50, 100)


@dataclass(frozen=True)
class Line:
    text: str
    chosen: Callable[[Cell], bool]
    rule: Rule


@dataclass
class Verdict:
    line: Line
    checked: list[tuple[Cell, bool, str, float]]

    @property
    def status(self) -> str:
        if not self.checked:
            return "n/a "
        return "PASS" if all(ok for _, ok, _, _ in self.checked) else "MISS"


def _at_most(key: str, limit: float, unit: str) -> Rule:
    def rule(seq: dict[str, Any], _: dict[str, Any] | None) -> tuple[bool, str, float]:
        value = seq[key]
        if value is None:
            return False, f"{key} none", float("inf")
        return value <= limit, f"{value:g}{unit}", value

    return rule


def _at_least(key: str, limit: float) -> Rule:
    def rule(seq: dict[str, Any], _: dict[str, Any] | None) -> tuple[bool, str, float]:
        return seq[key] >= limit, f"{seq[key]:g}%", -seq[key]

    return rule


def _promoted_no_deadline(seq: dict[str, Any], _: dict[str, Any] | None) -> tuple[bool, str, float]:
    ok = seq["promoted_pct"] >= 99 and seq["deadline_pct"] == 0
    return (
        ok,
        f"promoted {seq['promoted_pct']:g}%, deadline {seq['deadline_pct']:g}%",
        -(seq["promoted_pct"] - 100 * seq["deadline_pct"]),
    )


def _not_above_threshold_judge(key: str) -> Rule:
    def rule(seq: dict[str, Any], thr: dict[str, Any] | None) -> tuple[bool, str, float]:
        mine = seq[key]
        theirs = None if thr is None else thr[key]
        if theirs is None:  # the threshold judge never got there: nothing to be slower than
            return True, f"{mine} vs threshold -", float("-inf")
        if mine is None:
            return False, f"- vs threshold {theirs:g}", float("inf")
        return mine <= theirs, f"{mine:g} vs threshold {theirs:g}", mine - theirs

    return rule


def lines(confidence: float) -> list[Line]:
    false_limit = 0.1 if confidence >= 0.999 else 1.0
    return [
        Line(
            f"healthy: rolled back <= {false_limit:g}% in every cell",
            lambda c: c.scenario == "healthy",
            _at_most("rolled_back_pct", false_limit, "%"),
        ),
        Line(
            "errors-20pct: caught 100% in every cell",
            lambda c: c.scenario == "errors-20pct",
            _at_least("rolled_back_pct", 100),
        ),
        Line(
            "errors-20pct: median time to rollback <= 20 s at >= 10 rps",
            lambda c: c.scenario == "errors-20pct" and c.rps >= 10,
            _at_most("median_rollback_s", 20, " s"),
        ),
        Line(
            "errors-20pct: median time to rollback <= 120 s at 2 rps",
            lambda c: c.scenario == "errors-20pct" and c.rps <= 2,
            _at_most("median_rollback_s", 120, " s"),
        ),
        Line(
            "errors-20pct: 5xx served (median) <= threshold judge's in every cell",
            lambda c: c.scenario == "errors-20pct",
            _not_above_threshold_judge("errors_served_median"),
        ),
        Line(
            "errors 0.9% -> 1.8%, 50 rps, steps 10-20-50-100, interval 60s: caught >= 95%",
            lambda c: (
                c.scenario == "errors-2x"
                and abs(c.base_error - 0.009) < 1e-12
                and c.rps == 50
                and c.steps == _LADDER
                and c.interval == 60
            ),
            _at_least("rolled_back_pct", 95),
        ),
        Line(
            "latency-1s: caught 100% in every cell",
            lambda c: c.scenario == "latency-1s",
            _at_least("rolled_back_pct", 100),
        ),
        Line(
            "latency-1s: median time to rollback <= 20 s at >= 10 rps",
            lambda c: c.scenario == "latency-1s" and c.rps >= 10,
            _at_most("median_rollback_s", 20, " s"),
        ),
        Line(
            "healthy at 2 rps: >= 99% promoted, none by deadline",
            lambda c: c.scenario == "healthy" and c.rps <= 2,
            _promoted_no_deadline,
        ),
        Line(
            "healthy at >= 10 rps: median promotion time <= threshold judge's",
            lambda c: c.scenario == "healthy" and c.rps >= 10,
            _not_above_threshold_judge("median_promotion_s"),
        ),
    ]


def judge_acceptance(stats: Stats, cells: list[Cell], confidence: float) -> list[Verdict]:
    verdicts = []
    for line in lines(confidence):
        checked = []
        for cell in cells:
            seq = stats.get((cell, "sequential"))
            if seq is None or not line.chosen(cell):
                continue
            checked.append((cell, *line.rule(seq, stats.get((cell, "threshold")))))
        verdicts.append(Verdict(line, checked))
    return verdicts


def render(verdicts: list[Verdict], shown: int = 12) -> str:
    out = []
    for verdict in verdicts:
        checked = verdict.checked
        said = f"{verdict.status}  sequential {verdict.line.text}"
        if checked:
            worst = max(checked, key=lambda item: item[3])
            said += f"  [{len(checked)} cells; worst {worst[2]} at {worst[0].label}]"
        out.append(said)
        missed = [item for item in checked if not item[1]]
        for cell, _, figure, _ in sorted(missed, key=lambda item: -item[3])[:shown]:
            out.append(f"        missed: {cell.label}: {figure}")
        if len(missed) > shown:
            out.append(f"        ... and {len(missed) - shown} more")
    return "\n".join(out)


def by_truth(stats: Stats, cells: list[Cell], truths: dict[Cell, str]) -> str:
    """Both judges over every cell of a truth: rolled back of the good, caught of the bad."""
    out = []
    for kind, word in (("good", "rolled back (false)"), ("bad", "caught")):
        chosen = [c for c in cells if truths[c] == kind]
        if not chosen:
            continue
        said = []
        for judge in ("sequential", "threshold"):
            shares = [stats[(c, judge)]["rolled_back_pct"] for c in chosen if (c, judge) in stats]
            if shares:
                said.append(
                    f"{judge} min {min(shares):g}% / mean {sum(shares) / len(shares):.1f}%"
                    f" / max {max(shares):g}%"
                )
        out.append(f"info  {kind} canaries ({len(chosen)} cells), {word}: " + "; ".join(said))
    return "\n".join(out)
