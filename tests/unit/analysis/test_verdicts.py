"""Every verdict path of one gate: pass/fail per threshold, no data, stable problems, errors."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from controller.analysis.client import FailureKind, PrometheusError
from controller.analysis.verdicts import errored, fmt, judge, threshold_text
from controller.api.gates import Gate
from controller.api.status import GateVerdict

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NAN = math.nan
INF = math.inf
PASS, FAIL, INCONCLUSIVE, ERROR = (
    GateVerdict.PASS,
    GateVerdict.FAIL,
    GateVerdict.INCONCLUSIVE,
    GateVerdict.ERROR,
)


@dataclass(frozen=True)
class Case:
    gate: dict[str, Any]
    value: float | None
    stable: float | None
    verdict: GateVerdict
    message: str  # the exact message
    id: str


def gate(**fields: Any) -> Gate:
    return Gate.model_validate({"name": "error-rate", **fields})


CASES = [
    Case({"max": 1}, 0.4, None, PASS, "error-rate 0.4 <= 1 (max)", "max-pass"),
    Case({"max": 1}, 1.0, None, PASS, "error-rate 1 <= 1 (max)", "max-boundary-pass"),
    Case({"max": 1}, 3.2, None, FAIL, "error-rate 3.2 > 1 (max)", "max-fail"),
    Case({"max": 1}, INF, None, FAIL, "error-rate +Inf > 1 (max)", "max-fail-inf"),
    Case({"min": 0.5}, 0.7, None, PASS, "error-rate 0.7 >= 0.5 (min)", "min-pass"),
    Case({"min": 0.5}, 0.2, None, FAIL, "error-rate 0.2 < 0.5 (min)", "min-fail"),
    Case(
        {"min": 0.5, "max": 1},
        2,
        None,
        FAIL,
        "error-rate 2 > 1 (max)",
        "min-and-max-only-the-broken-one-is-named",
    ),
    Case(
        {"min": 0.5, "max": 1},
        0.7,
        None,
        PASS,
        "error-rate 0.7 <= 1 (max), 0.7 >= 0.5 (min)",
        "min-and-max-pass",
    ),
    Case(
        {"maxOverStable": 0.5},
        1.2,
        1.0,
        PASS,
        "error-rate 1.2 <= stable 1 + 0.5 (maxOverStable)",
        "over-stable-pass",
    ),
    Case(
        {"maxOverStable": 0.5},
        1.6,
        1.0,
        FAIL,
        "error-rate 1.6 > stable 1 + 0.5 (maxOverStable)",
        "over-stable-fail",
    ),
    Case(
        {"maxRatioToStable": 1.2},
        110,
        100,
        PASS,
        "error-rate 110 <= 1.2x stable 100 (maxRatioToStable)",
        "ratio-pass",
    ),
    Case(
        {"maxRatioToStable": 1.2},
        130,
        100,
        FAIL,
        "error-rate 130 > 1.2x stable 100 (maxRatioToStable)",
        "ratio-fail",
    ),
    Case(
        {"maxRatioToStable": 1.2},
        0,
        0,
        PASS,
        "error-rate 0 <= 1.2x stable 0 (maxRatioToStable)",
        "ratio-zero-stable-zero-canary-pass",
    ),
    Case(
        {"maxRatioToStable": 1.2},
        0.3,
        0,
        FAIL,
        "error-rate 0.3 > 1.2x stable 0 (maxRatioToStable); stable is 0, so any canary value "
        "above 0 exceeds every ratio: use maxOverStable for an additive allowance",
        "ratio-zero-stable-fail-says-why",
    ),
    Case(
        {"maxRatioToStable": 1.2},
        1e-12,
        0,
        PASS,
        "error-rate 1e-12 <= 1.2x stable 0 (maxRatioToStable)",
        "ratio-zero-stable-float-noise-pass",
    ),
    Case(
        {"maxRatioToStable": 1.2},
        5,
        -1,
        INCONCLUSIVE,
        "error-rate: stable value -1 is negative, so a ratio to it means nothing: use "
        "maxOverStable for this metric",
        "ratio-negative-stable",
    ),
    Case(
        {"maxOverStable": 2},
        0.5,
        -1,
        PASS,
        "error-rate 0.5 <= stable -1 + 2 (maxOverStable)",
        "over-stable-negative-stable-is-fine",
    ),
    Case(
        {"max": 1, "maxRatioToStable": 1.2},
        0.5,
        0.5,
        PASS,
        "error-rate 0.5 <= 1 (max), 0.5 <= 1.2x stable 0.5 (maxRatioToStable)",
        "absolute-and-relative-pass",
    ),
    Case(
        {"max": 1, "maxRatioToStable": 1.2},
        0.9,
        0.5,
        FAIL,
        "error-rate 0.9 > 1.2x stable 0.5 (maxRatioToStable)",
        "absolute-holds-relative-fails",
    ),
    Case(
        {"max": 1},
        None,
        None,
        INCONCLUSIVE,
        "error-rate: no data (empty result) for the canary",
        "empty-result",
    ),
    Case(
        {"max": 1},
        NAN,
        None,
        INCONCLUSIVE,
        "error-rate: no data (NaN: zero requests?) for the canary",
        "nan",
    ),
    Case(
        {"maxOverStable": 0.5},
        NAN,
        1,
        INCONCLUSIVE,
        "error-rate: no data (NaN: zero requests?) for the canary",
        "relative-canary-nan",
    ),
    Case(
        {"maxOverStable": 0.5},
        1.0,
        None,
        INCONCLUSIVE,
        "error-rate: stable value missing (no data (empty result)): a relative threshold needs "
        "traffic on the stable subset too",
        "relative-stable-empty",
    ),
    Case(
        {"maxRatioToStable": 1.2},
        1.0,
        NAN,
        INCONCLUSIVE,
        "error-rate: stable value missing (no data (NaN: zero requests?)): a relative threshold "
        "needs traffic on the stable subset too",
        "relative-stable-nan",
    ),
    Case(
        {"max": 1, "maxRatioToStable": 1.2},
        3,
        None,
        FAIL,
        "error-rate 3 > 1 (max)",
        "absolute-fail-wins-over-missing-stable",
    ),
    Case(
        {},
        1,
        None,
        ERROR,
        "gate 'error-rate' has no threshold: set max, min, maxOverStable, maxRatioToStable, "
        "criticalMax or criticalMin (e.g. max: 1 for an error rate of at most 1%)",
        "no-threshold",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_verdict_table(case: Case) -> None:
    status = judge(
        gate(**case.gate), value=case.value, stable_value=case.stable, query="Q", now=NOW
    )
    assert (status.verdict, status.message) == (case.verdict, case.message)
    assert status.query == "Q"
    assert status.checked_at == NOW


def test_status_carries_the_values_and_threshold_text() -> None:
    status = judge(gate(max=1, maxOverStable=0.5), value=0.8, stable_value=0.6, query="Q", now=NOW)
    assert (status.value, status.stable_value, status.threshold) == (
        0.8,
        0.6,
        "<= 1 and <= stable + 0.5",
    )


@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_non_finite_values_are_not_stored_so_the_status_stays_valid_json(value: float) -> None:
    status = judge(gate(max=1), value=value, stable_value=None, query="Q", now=NOW)
    assert status.value is None
    json.dumps(status.model_dump(mode="json"), allow_nan=False)  # raises on NaN/Inf


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"max": 1}, "<= 1"),
        ({"min": 0.5}, ">= 0.5"),
        ({"maxOverStable": 0.5}, "<= stable + 0.5"),
        ({"maxRatioToStable": 1.2}, "<= 1.2x stable"),
        ({"max": 500, "min": 1, "maxRatioToStable": 1.2}, "<= 500 and >= 1 and <= 1.2x stable"),
    ],
)
def test_threshold_text(fields: dict[str, Any], text: str) -> None:
    assert threshold_text(gate(**fields)) == text


def test_error_verdict_carries_the_prometheus_message() -> None:
    error = PrometheusError(FailureKind.TIMEOUT, "Prometheus at http://p did not answer within 5s")
    status = errored(gate(max=1), error, query="Q", now=NOW)
    assert status.verdict is ERROR
    assert status.message == "error-rate: Prometheus at http://p did not answer within 5s"
    assert (status.query, status.checked_at, status.threshold) == ("Q", NOW, "<= 1")


@pytest.mark.parametrize(
    ("number", "text"), [(3.2, "3.2"), (1.0, "1"), (INF, "+Inf"), (-INF, "-Inf"), (1e-4, "0.0001")]
)
def test_numbers_read_the_way_a_person_writes_them(number: float, text: str) -> None:
    assert fmt(number) == text
