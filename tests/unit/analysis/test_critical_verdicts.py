"""Critical thresholds (criticalMax/criticalMin): a value beyond one fails the gate and marks the
status critical; within it, the gate is judged by its other thresholds as before."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from controller.analysis.verdicts import judge, threshold_text
from controller.api.gates import Gate
from controller.api.status import GateVerdict

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PASS, FAIL, INCONCLUSIVE = GateVerdict.PASS, GateVerdict.FAIL, GateVerdict.INCONCLUSIVE


@dataclass(frozen=True)
class Case:
    id: str
    gate: dict[str, Any]
    value: float | None
    stable: float | None
    verdict: GateVerdict
    critical: bool
    message: str  # the exact message


def gate(**fields: Any) -> Gate:
    return Gate.model_validate({"name": "error-rate", **fields})


ERRORS = {"max": 1, "criticalMax": 5}
# fmt: off
CASES = [
    Case("below-max-pass", ERRORS, 0.4, None, PASS, False,
         "error-rate 0.4 <= 1 (max), 0.4 <= 5 (criticalMax)"),
    Case("above-max-within-critical-fails-not-critical", ERRORS, 3, None, FAIL, False,
         "error-rate 3 > 1 (max)"),
    Case("at-critical-max-is-not-critical", ERRORS, 5, None, FAIL, False,
         "error-rate 5 > 1 (max)"),
    Case("beyond-critical-max-fails-critical", ERRORS, 20, None, FAIL, True,
         "error-rate 20 > 1 (max), 20 > 5 (criticalMax)"),
    Case("infinite-is-critical", ERRORS, math.inf, None, FAIL, True,
         "error-rate +Inf > 1 (max), +Inf > 5 (criticalMax)"),
    Case("only-critical-max-passes-below", {"criticalMax": 5}, 3, None, PASS, False,
         "error-rate 3 <= 5 (criticalMax)"),
    Case("only-critical-max-fails-above", {"criticalMax": 5}, 6, None, FAIL, True,
         "error-rate 6 > 5 (criticalMax)"),
    Case("below-critical-min-fails-critical", {"min": 50, "criticalMin": 10}, 4, None, FAIL,
         True, "error-rate 4 < 50 (min), 4 < 10 (criticalMin)"),
    Case("between-critical-min-and-min-not-critical", {"min": 50, "criticalMin": 10}, 20, None,
         FAIL, False, "error-rate 20 < 50 (min)"),
    Case("critical-wins-over-missing-stable", {"maxOverStable": 0.5, "criticalMax": 5}, 9, None,
         FAIL, True, "error-rate 9 > 5 (criticalMax)"),
    Case("within-critical-relative-still-needs-stable", {"maxOverStable": 0.5, "criticalMax": 5},
         2, None, INCONCLUSIVE, False,
         "error-rate: stable value missing (no data (empty result)): a relative threshold needs "
         "traffic on the stable subset too"),
    Case("within-critical-relative-fails-not-critical", {"maxOverStable": 0.5, "criticalMax": 5},
         2, 1, FAIL, False, "error-rate 2 > stable 1 + 0.5 (maxOverStable)"),
    Case("no-data-is-not-critical", ERRORS, None, None, INCONCLUSIVE, False,
         "error-rate: no data (empty result) for the canary"),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_critical_verdict_table(case: Case) -> None:
    status = judge(
        gate(**case.gate), value=case.value, stable_value=case.stable, query="Q", now=NOW
    )
    assert (status.verdict, status.critical, status.message) == (
        case.verdict,
        case.critical,
        case.message,
    )


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"max": 1, "criticalMax": 5}, "<= 1 (critical > 5)"),
        ({"min": 50, "criticalMin": 10}, ">= 50 (critical < 10)"),
        ({"criticalMax": 5}, "critical > 5"),
        ({"criticalMax": 900, "criticalMin": 1}, "critical > 900 or < 1"),
        (
            {"max": 500, "maxRatioToStable": 1.2, "criticalMax": 2000},
            "<= 500 and <= 1.2x stable (critical > 2000)",
        ),
    ],
)
def test_threshold_text_shows_the_critical_bounds(fields: dict[str, Any], text: str) -> None:
    assert threshold_text(gate(**fields)) == text


def test_status_threshold_carries_the_critical_bound() -> None:
    status = judge(gate(**ERRORS), value=20, stable_value=None, query="Q", now=NOW)
    assert status.threshold == "<= 1 (critical > 5)"
