"""Checking manifests as a whole: which kind each document is, and whether shifts and the
profiles they name fit together (every gate known, every gate with a threshold).

Pure: callers hand in parsed YAML documents; reading files is the caller's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from controller.api.gates import (
    BUILTIN_GATES,
    Gate,
    merge_gates,
    missing_threshold_message,
    unknown_gate_message,
)
from controller.api.judging import sequential_problems
from controller.api.problems import Problem, problems_from
from controller.api.profile import GateProfile
from controller.api.trafficshift import DEFAULT_PROFILE, TrafficShift, TrafficShiftSpec

KINDS: dict[str, type[BaseModel]] = {"TrafficShift": TrafficShift, "GateProfile": GateProfile}


@dataclass(frozen=True)
class SourcedDocument:
    source: str
    document: int  # 1-based
    content: Any


@dataclass
class CheckResult:
    shifts: list[tuple[SourcedDocument, TrafficShift]] = field(default_factory=list)
    profiles: dict[str, GateProfile] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


class GateResolutionError(ValueError):
    """The gates of a shift cannot be resolved; ``problems`` say which and why."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {msg}" for path, msg in problems))
        self.problems = problems


def resolve_gates(spec: TrafficShiftSpec, profiles: Mapping[str, GateProfile]) -> list[Gate]:
    """The effective gates of a shift: its profile's gates with the shift's own applied."""
    profile = profiles.get(spec.analysis.profile)
    if profile is None:
        raise GateResolutionError([_missing_profile(spec.analysis.profile, profiles)])
    known_names = list(BUILTIN_GATES) + [g.name for g in profile.spec.gates]
    problems: list[tuple[str, str]] = []
    for index, gate in enumerate(spec.analysis.gates):
        path = f"spec.analysis.gates[{index}]"
        if gate.query is None and not gate.is_count and gate.name not in known_names:
            problems.append((f"{path}.name", unknown_gate_message(gate.name, known_names)))
        elif not gate.has_threshold:
            problems.append((path, missing_threshold_message(gate.name)))
    if problems:
        raise GateResolutionError(problems)
    merged = merge_gates(list(profile.spec.gates), list(spec.analysis.gates))
    unjudgeable = sequential_problems(merged, spec.analysis.judge)
    if unjudgeable:
        raise GateResolutionError([("spec.analysis.judge", message) for _, message in unjudgeable])
    return merged


def _parse(doc: SourcedDocument, result: CheckResult) -> BaseModel | None:
    content = doc.content
    if not isinstance(content, dict):
        result.problems.append(
            Problem(doc.source, doc.document, "", "not a YAML mapping: expected a manifest")
        )
        return None
    kind = content.get("kind")
    model = KINDS.get(str(kind))
    if model is None:
        result.problems.append(
            Problem(
                doc.source,
                doc.document,
                "kind",
                f"unsupported kind {kind!r}: weightgate validates {' and '.join(KINDS)}",
            )
        )
        return None
    try:
        return model.model_validate(content)
    except ValidationError as exc:
        result.problems.extend(problems_from(exc, model, source=doc.source, document=doc.document))
        return None


def check_documents(
    documents: Iterable[SourcedDocument], known_profiles: Mapping[str, GateProfile]
) -> CheckResult:
    """Validate every document, then resolve each shift's gates against all known profiles
    (those given plus those among the documents)."""
    result = CheckResult(profiles=dict(known_profiles))
    invalid_shifts: list[SourcedDocument] = []
    for doc in documents:
        parsed = _parse(doc, result)
        if isinstance(parsed, GateProfile):
            result.profiles[parsed.name] = parsed
        elif isinstance(parsed, TrafficShift):
            result.shifts.append((doc, parsed))
        elif isinstance(doc.content, dict) and doc.content.get("kind") == "TrafficShift":
            invalid_shifts.append(doc)
    for doc, shift in result.shifts:
        try:
            resolve_gates(shift.spec, result.profiles)
        except GateResolutionError as exc:
            result.problems.extend(
                Problem(doc.source, doc.document, path, msg) for path, msg in exc.problems
            )
    for doc in invalid_shifts:
        result.problems.extend(
            Problem(doc.source, doc.document, path, msg)
            for path, msg in _raw_gate_problems(doc.content, result.profiles)
        )
    return result


def _missing_profile(name: str, profiles: Mapping[str, GateProfile]) -> tuple[str, str]:
    known = ", ".join(sorted(profiles)) or "none loaded"
    return (
        "spec.analysis.profile",
        f"gate profile '{name}' not found (known: {known}): name one of them, or add "
        "config/gates/<name>.yaml",
    )


def _raw_gate_problems(
    content: Mapping[str, Any], profiles: Mapping[str, GateProfile]
) -> list[tuple[str, str]]:
    """What `resolve_gates` can tell of a shift whose schema is not valid yet, from its raw
    content: a profile that is not there, gates that no profile or builtin knows. So one run
    of `validate` reports these beside the schema's problems, not only once those are fixed."""
    spec = content.get("spec")
    analysis = spec.get("analysis") if isinstance(spec, Mapping) else None
    analysis = analysis if isinstance(analysis, Mapping) else {}
    name = analysis.get("profile", DEFAULT_PROFILE)
    if not isinstance(name, str):
        return []
    profile = profiles.get(name)
    if profile is None:
        return [_missing_profile(name, profiles)]
    known_names = list(BUILTIN_GATES) + [g.name for g in profile.spec.gates]
    gates = analysis.get("gates")
    problems: list[tuple[str, str]] = []
    for index, gate in enumerate(gates if isinstance(gates, list) else []):
        if not isinstance(gate, Mapping) or not isinstance(gate.get("name"), str):
            continue
        if "query" in gate or "errorQuery" in gate or gate["name"] in known_names:
            continue
        path = f"spec.analysis.gates[{index}].name"
        problems.append((path, unknown_gate_message(gate["name"], known_names)))
    return problems
