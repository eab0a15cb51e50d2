"""Turning one check's gate results into one verdict for the step, and into words.

A check passes only when every gate passes. A failing gate (or an inconclusive one, when the
shift says no data counts as failure) fails the check. Anything else that is not a pass, a
Prometheus error or missing data under the `hold` policy, holds the weight. A gate that failed
beyond a critical threshold is critical evidence: the check rolls back without waiting for
``failureLimit``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

from controller.api.status import GateStatus, GateVerdict
from controller.api.trafficshift import NoDataPolicy


class CheckResult(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    HOLD = "hold"
    WAIT = "wait"  # sequential judge: nothing refuted yet, too few canary requests this step


def counts_as_failure(gate: GateStatus, on_no_data: NoDataPolicy) -> bool:
    if gate.verdict is GateVerdict.FAIL:
        return True
    return (
        gate.verdict is GateVerdict.INCONCLUSIVE
        and not gate.waiting
        and on_no_data is NoDataPolicy.FAIL
    )


def judge_check(gates: Sequence[GateStatus], on_no_data: NoDataPolicy) -> CheckResult:
    """The check's verdict. No gates at all is a pass: nothing objects to the step."""
    if any(counts_as_failure(gate, on_no_data) for gate in gates):
        return CheckResult.FAIL
    if any(gate.verdict is not GateVerdict.PASS and not gate.waiting for gate in gates):
        return CheckResult.HOLD
    if any(gate.waiting for gate in gates):
        return CheckResult.WAIT
    return CheckResult.PASS


def waiting_gates(gates: Iterable[GateStatus]) -> list[GateStatus]:
    """Sequential gates waiting for enough canary requests since the step began."""
    return [gate for gate in gates if gate.waiting]


def failing_gates(gates: Iterable[GateStatus], on_no_data: NoDataPolicy) -> list[GateStatus]:
    return [gate for gate in gates if counts_as_failure(gate, on_no_data)]


def critical_gates(gates: Iterable[GateStatus]) -> list[GateStatus]:
    """Failed gates whose value broke a critical threshold (criticalMax/criticalMin)."""
    return [gate for gate in gates if gate.verdict is GateVerdict.FAIL and gate.critical]


def unsettled_gates(gates: Iterable[GateStatus]) -> list[GateStatus]:
    """Gates that neither passed nor failed: they are why a shift holds."""
    return [
        gate
        for gate in gates
        if gate.verdict in (GateVerdict.ERROR, GateVerdict.INCONCLUSIVE) and not gate.waiting
    ]


def describe_failure(gate: GateStatus) -> str:
    """One gate's failure with everything needed to reproduce it: value, threshold, query."""
    value = "no value" if gate.value is None else f"value {_number(gate.value)}"
    if gate.verdict is GateVerdict.FAIL and gate.judge == "sequential":
        # The sequential message carries the counts, the evidence and the bound.
        parts = [f"gate '{gate.name}' failed", gate.message]
        if gate.query:
            parts.append(f"query: {gate.query}")
        return ", ".join(parts)
    if gate.verdict is GateVerdict.FAIL:
        what = "broke its critical threshold" if gate.critical else "failed"
    else:
        what = "had no usable data, which analysis.onNoData 'fail' counts as a failure"
    parts = [f"gate '{gate.name}' {what}: {value}"]
    if gate.stable_value is not None:
        parts.append(f"stable {_number(gate.stable_value)}")
    if gate.threshold:
        parts.append(f"threshold '{gate.threshold}'")
    if gate.message:
        parts.append(gate.message)
    if gate.query:
        parts.append(f"query: {gate.query}")
    return ", ".join(parts)


def describe_unsettled(gate: GateStatus) -> str:
    """Why one gate could not judge: it errored, or it was inconclusive (no or too little data)."""
    kind = "errored" if gate.verdict is GateVerdict.ERROR else "was inconclusive"
    detail = f" ({gate.message})" if gate.message else ""
    return f"gate '{gate.name}' {kind}{detail}"


def join_descriptions(descriptions: Sequence[str]) -> str:
    return "; ".join(descriptions) if descriptions else "no gate results recorded"


def _number(value: float) -> str:
    return f"{value:.6g}"
