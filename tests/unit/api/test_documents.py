"""Whole-manifest checks: kinds, profiles named by shifts, gates resolved against profiles."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from controller.api.documents import SourcedDocument, check_documents
from controller.api.profile import GateProfile
from tests.unit.api.test_trafficshift import VALID

PROFILE: dict[str, Any] = {
    "apiVersion": "weightgate.dev/v1alpha1",
    "kind": "GateProfile",
    "metadata": {"name": "default"},
    "spec": {
        "gates": [
            {"name": "error-rate", "max": 1},
            {"name": "saturation", "query": "x{{ canary }}", "max": 0.8},
        ]
    },
}


def docs(*contents: Any) -> list[SourcedDocument]:
    return [SourcedDocument("f.yaml", i, c) for i, c in enumerate(contents, start=1)]


def shift_with_gates(gates: list[dict[str, Any]]) -> dict[str, Any]:
    doc = copy.deepcopy(VALID)
    doc["spec"]["analysis"]["gates"] = gates
    return doc


def test_profile_in_the_same_files_serves_the_shift() -> None:
    result = check_documents(docs(PROFILE, VALID), {})
    assert result.problems == []
    assert list(result.profiles) == ["default"]
    assert len(result.shifts) == 1


def test_profile_gate_can_be_retuned_without_its_query() -> None:
    shift = shift_with_gates([{"name": "saturation", "max": 0.9}])
    assert check_documents(docs(PROFILE, shift), {}).problems == []


@pytest.mark.parametrize(
    ("content", "path", "words"),
    [
        (
            shift_with_gates([{"name": "eror-rate", "max": 1}]),
            "spec.analysis.gates[0].name",
            ["unknown gate 'eror-rate'", "Did you mean 'error-rate'", "add a query"],
        ),
        (
            shift_with_gates([{"name": "latency-p99"}]),
            "spec.analysis.gates[0]",
            ["no threshold", "set max"],
        ),
        (
            {**VALID, "spec": {**VALID["spec"], "analysis": {"profile": "nope"}}},
            "spec.analysis.profile",
            ["'nope' not found", "known: default"],
        ),
        ({"kind": "Rollout"}, "kind", ["unsupported kind 'Rollout'", "TrafficShift"]),
        (["a", "list"], "", ["not a YAML mapping"]),
        (
            {**PROFILE, "spec": {"gates": [{"name": "mystery", "max": 1}]}},
            "spec",
            ["not builtin and has no query", "add a query"],
        ),
        ({**PROFILE, "spec": {"gates": [{"name": "error-rate"}]}}, "spec", ["no threshold"]),
        ({**PROFILE, "spec": {"gates": []}}, "spec.gates", ["at least 1"]),
    ],
    ids=[
        "unknown-gate",
        "gate-without-threshold",
        "missing-profile",
        "unknown-kind",
        "not-a-mapping",
        "profile-custom-without-query",
        "profile-no-threshold",
        "profile-empty",
    ],
)
def test_document_problems_name_field_and_fix(content: Any, path: str, words: list[str]) -> None:
    profiles = {"default": GateProfile.model_validate(PROFILE)}
    result = check_documents(docs(content), profiles)
    assert [p.path for p in result.problems] == [path], [str(p) for p in result.problems]
    for word in words:
        assert word in result.problems[0].message


def test_problem_prints_file_document_and_path() -> None:
    result = check_documents(docs({}, {"kind": "Rollout"}), {})
    assert str(result.problems[-1]).startswith("f.yaml (document 2): kind: unsupported kind")
