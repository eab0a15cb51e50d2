"""Which judge a gate gets, and what each judge can test.

The sequential judge tests hypotheses about a share of requests (5xx answers, requests slower
than a bound) on counts, so it takes builtin gates under ``analysis.judge: sequential`` and
custom count gates (``errorQuery`` + ``totalQuery``) always. A custom gate with one ``query``
returns a number, not counts: it keeps the threshold rule under either judge.
"""

from __future__ import annotations

from collections.abc import Sequence

from controller.api.gates import Gate
from controller.api.trafficshift import Judge


def gate_judge(gate: Gate, judge: Judge) -> Judge:
    """The judge that decides `gate` when the shift asks for `judge`."""
    if gate.is_count:
        return Judge.SEQUENTIAL
    if judge is Judge.SEQUENTIAL and gate.query is None and gate.is_builtin:
        return Judge.SEQUENTIAL
    return Judge.THRESHOLD


def sequential_gates(gates: Sequence[Gate], judge: Judge) -> list[Gate]:
    return [gate for gate in gates if gate_judge(gate, judge) is Judge.SEQUENTIAL]


def sequential_problems(gates: Sequence[Gate], judge: Judge) -> list[tuple[str, str]]:
    """(gate name, message) for thresholds the sequential judge cannot test on a gate it gets."""
    problems: list[tuple[str, str]] = []
    for gate in sequential_gates(gates, judge):
        if gate.is_count:
            continue  # the Gate model already refuses these on count gates
        if gate.min is not None or gate.critical_min is not None:
            problems.append(
                (
                    gate.name,
                    f"gate '{gate.name}' sets min or criticalMin, which the sequential judge "
                    "does not test on a builtin gate (it tests that the canary is not worse): "
                    "drop them, or set analysis.judge: threshold",
                )
            )
    return problems


def judge_description(gate: Gate, judge: Judge) -> str:
    """One line for `weightgate validate`: the judge a gate gets and what it tests."""
    if gate_judge(gate, judge) is Judge.THRESHOLD:
        reason = "custom query returning a number" if gate.query is not None else "judge: threshold"
        return f"threshold ({reason}): each check's windowed value against the threshold"
    note = ""
    if gate.critical_max is not None:
        note = "; criticalMax is implied (a canary above it is above max, and caught sooner)"
    return "sequential: anytime-valid test on counts accumulated over the shift" + note
