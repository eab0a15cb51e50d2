"""Reading weightgate manifests from disk: YAML files (multi-document) and gate-profile folders.

The only place that turns files into ``SourcedDocument``s; validation itself is pure and lives
in ``controller.api.documents``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from controller.api.documents import SourcedDocument, check_documents
from controller.api.problems import Problem
from controller.api.profile import GateProfile

DEFAULT_PROFILE_DIR = Path("config/gates")
_PACKAGE = Path(__file__).resolve().parent
# Where the shipped profiles are when no folder is configured: inside an installed wheel
# (hatch force-include), or in the source checkout next to the package.
SHIPPED_PROFILE_DIRS = (_PACKAGE / "profiles", _PACKAGE.parent / "config" / "gates")


def profile_dir(configured: Path | None = None) -> Path:
    """The gate-profile folder to load: the configured one when it exists, else the shipped
    profiles (so `weightgate run` works from any directory)."""
    if configured is not None and configured.is_dir():
        return configured
    if configured is not None and configured != DEFAULT_PROFILE_DIR:
        return configured  # an explicit folder that is missing: let loading say so
    return next((d for d in SHIPPED_PROFILE_DIRS if d.is_dir()), DEFAULT_PROFILE_DIR)


class ManifestError(Exception):
    """A file could not be read or parsed; ``problems`` say where."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def read_documents(path: Path) -> list[SourcedDocument]:
    """Every non-empty YAML document of a file, numbered from 1."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError([Problem(source, 0, "", f"cannot read file: {exc.strerror}")]) from exc
    try:
        loaded = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError([Problem(source, 0, "", f"not valid YAML{where}: {problem}")]) from exc
    return [
        SourcedDocument(source, index, content)
        for index, content in enumerate(loaded, start=1)
        if content is not None
    ]


def load_profiles(directory: Path) -> dict[str, GateProfile]:
    """All gate profiles in ``directory`` (``*.yaml``), by name; any problem is fatal."""
    if not directory.is_dir():
        raise ManifestError(
            [
                Problem(
                    str(directory),
                    0,
                    "",
                    "gate profile folder not found: pass --profiles DIR or set gate_profiles_dir",
                )
            ]
        )
    documents: list[SourcedDocument] = []
    for path in sorted(directory.glob("*.yaml")):
        documents.extend(read_documents(path))
    result = check_documents(documents, {})
    problems = list(result.problems)
    if result.shifts:
        doc = result.shifts[0][0]
        problems.append(
            Problem(
                doc.source, doc.document, "kind", "a gate-profile folder holds GateProfiles only"
            )
        )
    if problems:
        raise ManifestError(problems)
    return result.profiles
