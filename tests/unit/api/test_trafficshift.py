"""TrafficShift and gate validation: every rule, each error naming its field and the fix."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from controller.api.gates import Gate, merge_gates
from controller.api.problems import problems_from
from controller.api.trafficshift import TrafficShift

VALID: dict[str, Any] = {
    "apiVersion": "weightgate.dev/v1alpha1",
    "kind": "TrafficShift",
    "metadata": {"name": "reviews-v3", "namespace": "bookinfo"},
    "spec": {
        "virtualService": "reviews",
        "stable": "v1",
        "canary": "v3",
        "steps": [10, 25, 50, 100],
        "interval": "30s",
        "analysis": {
            "window": "1m",
            "gates": [
                {"name": "error-rate", "max": 1},
                {
                    "name": "saturation",
                    "query": 'max(x{destination_version="{{ canary }}"}[{{ window }}])',
                    "max": 0.8,
                },
            ],
        },
        "alerts": [{"provider": "oncall", "events": ["rollback"]}],
    },
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    """VALID with the dotted ``path`` set to ``value`` (list indexes as numbers)."""
    doc = copy.deepcopy(VALID)
    parts = path.split(".")
    target: Any = doc
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return doc


def test_valid_shift_parses_with_defaults() -> None:
    shift = TrafficShift.model_validate(VALID)
    assert shift.spec.interval == timedelta(seconds=30)
    assert shift.spec.analysis.failure_limit == 2
    assert shift.spec.analysis.progress_deadline == timedelta(minutes=10)
    assert shift.spec.analysis.profile == "default"
    assert shift.to_manifest()["spec"]["interval"] == "30s"


def test_manifest_round_trips() -> None:
    shift = TrafficShift.model_validate(VALID)
    assert TrafficShift.model_validate(shift.to_manifest()) == shift


# (case id, change path, new value, expected field path, words the message must contain)
INVALID_CASES = [
    ("steps-decrease", "spec.steps", [50, 30], "spec.steps", ["steps[1]", "strictly increase"]),
    ("steps-equal", "spec.steps", [50, 50], "spec.steps", ["steps[1]", "strictly increase"]),
    ("weight-120", "spec.steps", [50, 120], "spec.steps", ["steps[1] is 120", "from 1 to 100"]),
    ("weight-0", "spec.steps", [0, 50], "spec.steps", ["steps[0] is 0", "from 1 to 100"]),
    ("steps-empty", "spec.steps", [], "spec.steps", ["at least 1"]),
    ("interval-bad", "spec.interval", "30 seconds", "spec.interval", ["'30s'", "duration"]),
    ("interval-number", "spec.interval", 30, "spec.interval", ["'30s'"]),
    ("window-bad", "spec.analysis.window", "1.5m", "spec.analysis.window", ["'5m'"]),
    (
        "deadline-zero",
        "spec.analysis.progressDeadline",
        "0s",
        "spec.analysis.progressDeadline",
        ["at least 1s"],
    ),
    ("same-subsets", "spec.canary", "v1", "spec", ["both 'v1'", "another subset"]),
    ("subset-uppercase", "spec.canary", "V3", "spec.canary", ["lowercase"]),
    ("vs-name-bad", "spec.virtualService", "Reviews_", "spec.virtualService", ["lowercase"]),
    ("host-bad", "spec.host", "reviews/x", "spec.host", ["'reviews'"]),
    ("unknown-field", "spec.stepz", [1], "spec.stepz", ["unknown field", "did you mean 'steps'"]),
    (
        "unknown-analysis-field",
        "spec.analysis.windw",
        "1m",
        "spec.analysis.windw",
        ["did you mean 'window'"],
    ),
    ("missing-stable", "spec.stable", None, "spec.stable", ["lowercase"]),
    (
        "failure-limit-zero",
        "spec.analysis.failureLimit",
        0,
        "spec.analysis.failureLimit",
        ["greater than or equal to 1"],
    ),
    (
        "min-requests-negative",
        "spec.analysis.minRequests",
        -1,
        "spec.analysis.minRequests",
        ["greater than or equal to 0"],
    ),
    (
        "no-data-policy",
        "spec.analysis.onNoData",
        "ignore",
        "spec.analysis.onNoData",
        ["'hold' or 'fail'"],
    ),
    (
        "gate-unknown-variable",
        "spec.analysis.gates.1.query",
        "x{{ canery }}",
        "spec.analysis.gates[1].query",
        ["{{ canery }}", "use one of", "{{ canary }}"],
    ),
    (
        "gate-unbalanced",
        "spec.analysis.gates.1.query",
        "x{{ canary }",
        "spec.analysis.gates[1].query",
        ["unbalanced", "{{ canary }}"],
    ),
    (
        "gate-empty-query",
        "spec.analysis.gates.1.query",
        "  ",
        "spec.analysis.gates[1].query",
        ["empty", "PromQL"],
    ),
    (
        "builtin-with-query",
        "spec.analysis.gates.0",
        {"name": "error-rate", "query": "x", "max": 1},
        "spec.analysis.gates[0]",
        ["builtin", "another name"],
    ),
    (
        "min-above-max",
        "spec.analysis.gates.0",
        {"name": "error-rate", "min": 5, "max": 1},
        "spec.analysis.gates[0]",
        ["min (5.0) is above max (1.0)", "swap"],
    ),
    (
        "relative-needs-version",
        "spec.analysis.gates.1",
        {"name": "sat", "query": "x{{ canary }}", "maxRatioToStable": 1.2},
        "spec.analysis.gates[1]",
        ["{{ version }}"],
    ),
    (
        "ratio-not-positive",
        "spec.analysis.gates.0",
        {"name": "error-rate", "maxRatioToStable": 0},
        "spec.analysis.gates[0].maxRatioToStable",
        ["greater than 0"],
    ),
    (
        "gate-listed-twice",
        "spec.analysis.gates.1",
        {"name": "error-rate", "max": 2},
        "spec.analysis.gates",
        ["listed twice", "one entry"],
    ),
    (
        "alert-event-unknown",
        "spec.alerts.0.events",
        ["rolback"],
        "spec.alerts[0].events[0]",
        ["'rollback'"],
    ),
    ("wrong-kind", "kind", "Rollout", "kind", ["'TrafficShift'"]),
    (
        "check-interval-zero",
        "spec.analysis.checkInterval",
        "0s",
        "spec.analysis.checkInterval",
        ["at least 1s"],
    ),
    (
        "check-interval-not-a-duration",
        "spec.analysis.checkInterval",
        "500ms",
        "spec.analysis.checkInterval",
        ["'30s'", "duration"],
    ),
    (
        "check-interval-under-a-second",
        "spec.analysis.checkInterval",
        timedelta(milliseconds=500),
        "spec.analysis.checkInterval",
        ["checkInterval is 0.5s", "'1s' or more"],
    ),
    (
        "critical-max-below-max",
        "spec.analysis.gates.0",
        {"name": "error-rate", "max": 5, "criticalMax": 2},
        "spec.analysis.gates[0].criticalMax",
        ["criticalMax (2) is below max (5)", "at least 5", "or lower max"],
    ),
    (
        "critical-min-above-min",
        "spec.analysis.gates.0",
        {"name": "error-rate", "min": 5, "criticalMin": 8},
        "spec.analysis.gates[0].criticalMin",
        ["criticalMin (8) is above min (5)", "at most 5", "or raise min"],
    ),
    (
        "critical-min-above-critical-max",
        "spec.analysis.gates.0",
        {"name": "error-rate", "criticalMax": 1, "criticalMin": 3},
        "spec.analysis.gates[0].criticalMin",
        ["criticalMin (3) is above criticalMax (1)", "swap"],
    ),
    (
        "critical-max-below-min",
        "spec.analysis.gates.0",
        {"name": "error-rate", "min": 5, "criticalMax": 2},
        "spec.analysis.gates[0]",
        ["criticalMax (2) is below min (5)", "raise criticalMax"],
    ),
    (
        "critical-min-above-max",
        "spec.analysis.gates.0",
        {"name": "error-rate", "max": 1, "criticalMin": 3},
        "spec.analysis.gates[0]",
        ["criticalMin (3) is above max (1)", "lower criticalMin"],
    ),
]


@pytest.mark.parametrize(
    ("change", "value", "field", "words"),
    [case[1:] for case in INVALID_CASES],
    ids=[case[0] for case in INVALID_CASES],
)
def test_invalid_shift_names_field_and_fix(
    change: str, value: Any, field: str, words: list[str]
) -> None:
    doc = with_change(change, value)
    if value is None:
        doc["spec"].pop(change.rsplit(".", 1)[-1])
        words = ["required field 'stable' is missing", "add it"]
    with pytest.raises(ValidationError) as caught:
        TrafficShift.model_validate(doc)
    problems = problems_from(caught.value, TrafficShift, source="f.yaml", document=1)
    matching = [p for p in problems if p.path == field]
    assert matching, f"no problem at {field}: {[str(p) for p in problems]}"
    message = matching[0].message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_gate_override_keeps_profile_query_and_replaces_thresholds() -> None:
    profile = [Gate(name="sat", query="x{{ canary }}", max=0.8), Gate(name="error-rate", max=1)]
    merged = merge_gates(profile, [Gate(name="sat", max=0.9), Gate(name="latency-p99", max=400)])
    by_name = {g.name: g for g in merged}
    assert [g.name for g in merged] == ["sat", "error-rate", "latency-p99"]
    assert by_name["sat"].query == "x{{ canary }}"
    assert by_name["sat"].max == 0.9
    assert by_name["error-rate"].max == 1


def test_check_interval_defaults_to_none_and_round_trips() -> None:
    """No checkInterval means the controller's; a set one parses and is written back as text."""
    assert TrafficShift.model_validate(VALID).spec.analysis.check_interval is None
    shift = TrafficShift.model_validate(with_change("spec.analysis.checkInterval", "5s"))
    assert shift.spec.analysis.check_interval == timedelta(seconds=5)
    assert shift.to_manifest()["spec"]["analysis"]["checkInterval"] == "5s"
    assert TrafficShift.model_validate(shift.to_manifest()) == shift


@pytest.mark.parametrize(
    "fields",
    [
        {"max": 1, "criticalMax": 5},
        {"max": 1, "criticalMax": 1},
        {"min": 50, "criticalMin": 10},
        {"criticalMax": 5},
        {"criticalMin": 1},
        {"criticalMax": 5, "criticalMin": 1},
    ],
)
def test_critical_thresholds_that_leave_room_to_pass_are_valid(fields: dict[str, Any]) -> None:
    gate = Gate.model_validate({"name": "error-rate", **fields})
    assert gate.has_threshold
    assert gate.has_critical
    assert gate.model_dump(by_alias=True, exclude_none=True) == {"name": "error-rate", **fields}


def test_gate_override_carries_its_critical_thresholds() -> None:
    """An override's critical bounds reach the merged gate; a gate not overridden keeps the
    profile's; an override without them replaces the profile's thresholds as a set."""
    profile = [
        Gate(name="error-rate", max=1, critical_max=5),
        Gate(name="latency-p99", max=500, critical_max=2000),
        Gate(name="sat", query="x{{ canary }}", max=0.8, critical_max=0.95),
    ]
    overrides = [
        Gate(name="error-rate", max=2, critical_max=10),
        Gate(name="sat", max=0.9),
        Gate(name="latency-p50", max=100, critical_min=1),
    ]
    by_name = {g.name: g for g in merge_gates(profile, overrides)}
    assert (by_name["error-rate"].max, by_name["error-rate"].critical_max) == (2, 10)
    assert (by_name["latency-p99"].max, by_name["latency-p99"].critical_max) == (500, 2000)
    assert (by_name["sat"].query, by_name["sat"].critical_max) == ("x{{ canary }}", None)
    assert by_name["latency-p50"].critical_min == 1
