"""Judging one gate: a measured value (and the stable side's) against the gate's thresholds.

Owns the verdict rules. Pass: every threshold set on the gate holds. Fail: any does not.
Inconclusive: no number to judge (empty result, NaN), too few canary requests, or a relative
threshold whose stable value is missing. Error: the query could not be run (the message comes
from `PrometheusError`), except that a custom gate's own PromQL that is broken (Prometheus
rejects it, several series, not a number) fails: it would fail the same way on every check. A
canary that already breaks an absolute threshold fails even when the stable value is missing,
since no stable value could make it pass. Critical thresholds
(``criticalMax``, ``criticalMin``) are absolute too: a value beyond one fails the gate and marks
its status ``critical``, which the rollout takes as reason to roll back on this very check.

Ratio to a zero stable value: ``maxRatioToStable`` compares the canary with ``ratio x stable``,
floored at `RATIO_FLOOR`. With a stable value of 0 (e.g. no stable errors) the canary therefore
passes only at (about) 0 too; a fail message says so and points to ``maxOverStable`` for an
additive allowance. A negative stable value gives no meaningful ratio and is inconclusive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from controller.analysis.client import FailureKind, PrometheusError
from controller.api.gates import Gate, missing_threshold_message
from controller.api.status import GateStatus, GateVerdict

RATIO_FLOOR = 1e-9  # float noise on a zero stable value must not fail a ratio gate


def fmt(number: float) -> str:
    """A number as a status message shows it: ``3.2``, ``0.0001``, ``+Inf``."""
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    return f"{number:g}"


def is_missing(value: float | None) -> bool:
    return value is None or math.isnan(value)


@dataclass(frozen=True)
class _Check:
    """One threshold applied to one value: whether it held, and how to say it."""

    held: bool
    said: str
    critical: bool = False  # a critical threshold: breaking it rolls back on this check


def threshold_text(gate: Gate) -> str:
    """Every threshold of `gate` as one line, e.g. ``<= 1 and <= 1.2x stable (critical > 5)``."""
    parts: list[str] = []
    if gate.max is not None:
        parts.append(f"<= {fmt(gate.max)}")
    if gate.min is not None:
        parts.append(f">= {fmt(gate.min)}")
    if gate.max_over_stable is not None:
        parts.append(f"<= stable + {fmt(gate.max_over_stable)}")
    if gate.max_ratio_to_stable is not None:
        parts.append(f"<= {fmt(gate.max_ratio_to_stable)}x stable")
    text = " and ".join(parts)
    critical = _critical_text(gate)
    if not critical:
        return text
    return f"{text} (critical {critical})" if text else f"critical {critical}"


def _critical_text(gate: Gate) -> str:
    """The values that roll back at once, e.g. ``> 5 or < 0.1``."""
    bounds: list[str] = []
    if gate.critical_max is not None:
        bounds.append(f"> {fmt(gate.critical_max)}")
    if gate.critical_min is not None:
        bounds.append(f"< {fmt(gate.critical_min)}")
    return " or ".join(bounds)


def _absolute_checks(gate: Gate, value: float) -> list[_Check]:
    checks: list[_Check] = []
    if gate.max is not None:
        held = value <= gate.max
        checks.append(_Check(held, f"{fmt(value)} {'<=' if held else '>'} {fmt(gate.max)} (max)"))
    if gate.min is not None:
        held = value >= gate.min
        checks.append(_Check(held, f"{fmt(value)} {'>=' if held else '<'} {fmt(gate.min)} (min)"))
    return checks


def _critical_checks(gate: Gate, value: float) -> list[_Check]:
    checks: list[_Check] = []
    if gate.critical_max is not None:
        held = value <= gate.critical_max
        said = f"{fmt(value)} {'<=' if held else '>'} {fmt(gate.critical_max)} (criticalMax)"
        checks.append(_Check(held, said, critical=True))
    if gate.critical_min is not None:
        held = value >= gate.critical_min
        said = f"{fmt(value)} {'>=' if held else '<'} {fmt(gate.critical_min)} (criticalMin)"
        checks.append(_Check(held, said, critical=True))
    return checks


def _relative_checks(gate: Gate, value: float, stable: float) -> list[_Check]:
    checks: list[_Check] = []
    if gate.max_over_stable is not None:
        held = value <= stable + gate.max_over_stable
        checks.append(
            _Check(
                held,
                f"{fmt(value)} {'<=' if held else '>'} stable {fmt(stable)} + "
                f"{fmt(gate.max_over_stable)} (maxOverStable)",
            )
        )
    if gate.max_ratio_to_stable is not None:
        held = value <= max(gate.max_ratio_to_stable * stable, RATIO_FLOOR)
        said = (
            f"{fmt(value)} {'<=' if held else '>'} {fmt(gate.max_ratio_to_stable)}x stable "
            f"{fmt(stable)} (maxRatioToStable)"
        )
        if not held and stable == 0:
            said += (
                "; stable is 0, so any canary value above 0 exceeds every ratio: use "
                "maxOverStable for an additive allowance"
            )
        checks.append(_Check(held, said))
    return checks


def judge(
    gate: Gate, *, value: float | None, stable_value: float | None, query: str, now: datetime
) -> GateStatus:
    """The verdict on `gate` given the canary's `value` and, for relative gates, the stable's."""
    status = _status_maker(gate, value=value, stable_value=stable_value, query=query, now=now)
    if not gate.has_threshold:
        return status(GateVerdict.ERROR, missing_threshold_message(gate.name))
    if value is None or math.isnan(value):
        return status(GateVerdict.INCONCLUSIVE, f"{gate.name}: {_no_data(value)} for the canary")
    checks = _absolute_checks(gate, value) + _critical_checks(gate, value)
    if gate.is_relative and all(c.held for c in checks):
        problem = _stable_problem(gate, stable_value)
        if problem or stable_value is None:
            return status(GateVerdict.INCONCLUSIVE, f"{gate.name}: {problem}")
        checks += _relative_checks(gate, value, stable_value)
    failed = [c for c in checks if not c.held]
    if failed:
        critical = any(c.critical for c in failed)
        said = f"{gate.name} " + ", ".join(c.said for c in failed)
        return status(GateVerdict.FAIL, said, critical=critical)
    return status(GateVerdict.PASS, f"{gate.name} " + ", ".join(c.said for c in checks))


def judge_or_fall_back(
    gate: Gate,
    *,
    value: float | None,
    stable_value: float | None,
    fallback: float | None,
    query: str,
    now: datetime,
) -> GateStatus:
    """`judge`, except that a relative gate whose stable value is missing is judged against
    `fallback`, the stable value from before a 100% step (the stable subset has no traffic at
    100%, so it has no current value; the earlier steps' value is the comparison left)."""
    if not gate.is_relative or not is_missing(stable_value) or fallback is None:
        return judge(gate, value=value, stable_value=stable_value, query=query, now=now)
    status = judge(gate, value=value, stable_value=fallback, query=query, now=now)
    note = (
        f" (stable value {fmt(fallback)} from the steps before 100%: the stable subset gets no "
        "traffic now)"
    )
    return status.model_copy(update={"message": status.message + note})


def inconclusive(gate: Gate, message: str, *, query: str, now: datetime) -> GateStatus:
    """`gate` not judged, for a reason that applies before any value (e.g. too few requests)."""
    return _status_maker(gate, value=None, stable_value=None, query=query, now=now)(
        GateVerdict.INCONCLUSIVE, message
    )


def errored(gate: Gate, error: PrometheusError | str, *, query: str, now: datetime) -> GateStatus:
    """`gate` not judged because its query could not be run or rendered."""
    message = error.message if isinstance(error, PrometheusError) else error
    return _status_maker(gate, value=None, stable_value=None, query=query, now=now)(
        GateVerdict.ERROR, f"{gate.name}: {message}"
    )


def broken(gate: Gate, error: PrometheusError | str, *, query: str, now: datetime) -> GateStatus:
    """`gate`, whose own PromQL fails the same way on every check (see `is_broken`): a failed
    check, not an outage. Holding on it would leave the gate unenforced until the deadline;
    failing it rolls back after ``failureLimit`` checks, and the message says what to fix."""
    message = error.message if isinstance(error, PrometheusError) else error
    return _status_maker(gate, value=None, stable_value=None, query=query, now=now)(
        GateVerdict.FAIL,
        f"{gate.name}: its query cannot be judged ({message}); a broken query counts as a "
        "failed check: fix the gate's PromQL",
    )


def is_broken(error: PrometheusError) -> bool:
    """Whether a failure of a gate's own query will recur on every check: Prometheus rejected
    the PromQL (400/422), or it answered with several series, a range vector or not a number.
    Outages, timeouts and server errors may pass; they hold instead."""
    return error.kind is FailureKind.BAD_QUERY


def too_few_requests_message(requests: int, window: str, min_requests: int) -> str:
    return (
        f"only {requests} canary requests in {window}, need {min_requests} (minRequests): "
        "holding until the canary gets more traffic"
    )


def _no_data(value: float | None) -> str:
    return "no data (empty result)" if value is None else "no data (NaN: zero requests?)"


def _stable_problem(gate: Gate, stable_value: float | None) -> str:
    if stable_value is None or math.isnan(stable_value):
        return (
            f"stable value missing ({_no_data(stable_value)}): a relative threshold needs "
            "traffic on the stable subset too"
        )
    if gate.max_ratio_to_stable is not None and stable_value < 0:
        return (
            f"stable value {fmt(stable_value)} is negative, so a ratio to it means nothing: "
            "use maxOverStable for this metric"
        )
    return ""


class _MakeStatus(Protocol):
    def __call__(
        self, verdict: GateVerdict, message: str, *, critical: bool = False
    ) -> GateStatus: ...


def _status_maker(
    gate: Gate, *, value: float | None, stable_value: float | None, query: str, now: datetime
) -> _MakeStatus:
    def make(verdict: GateVerdict, message: str, *, critical: bool = False) -> GateStatus:
        return GateStatus(
            name=gate.name,
            verdict=verdict,
            value=_finite_or_none(value),
            stable_value=_finite_or_none(stable_value),
            threshold=threshold_text(gate),
            query=query,
            critical=critical,
            message=message,
            checked_at=now,
        )

    return make


def _finite_or_none(number: float | None) -> float | None:
    # NaN and Inf are not JSON: a status carrying them could not be written to the API server.
    # The message keeps the value in words.
    return number if number is not None and math.isfinite(number) else None
