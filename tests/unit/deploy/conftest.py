"""Fixtures for the deploy/ and Dockerfile tests: the kustomize rendering (real kubectl), the
rendered objects by kind and name, and the dev tools these tests run (hadolint, promtool,
kubernetes-validate), which must be present in CI."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
NAMESPACE = "weightgate-system"


def missing_tool(what: str, install: str) -> None:
    """Skip locally, fail in CI (CI=true): a missing tool must never turn a check into a pass."""
    message = f"{what} is not installed ({install})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}: CI must run this check")
    pytest.skip(message)


def find_binary(name: str, install: str) -> str:
    """A binary from the project's venv (next to this Python) or PATH."""
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.is_file() else shutil.which(name)
    if found is None:
        missing_tool(name, install)
    assert found is not None
    return found


def import_tool(module: str, install: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        missing_tool(module, install)
        raise


@dataclass(frozen=True)
class Rendered:
    """What `kubectl kustomize deploy/` printed, parsed."""

    text: str
    objects: list[dict[str, Any]]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def one(self, kind: str, name_prefix: str = "") -> dict[str, Any]:
        """The one object of ``kind`` whose name starts with ``name_prefix`` (generated
        ConfigMaps carry a hash suffix)."""
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"].startswith(name_prefix)]
        assert len(found) == 1, f"expected one {kind} named {name_prefix}*, found {len(found)}"
        return found[0]


def render_kustomization(kubectl: str, directory: Path) -> Rendered:
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return Rendered(result.stdout, objects)


@pytest.fixture(scope="session")
def kubectl() -> str:
    return find_binary("kubectl", "kubectl 1.27+ with built-in kustomize")


@pytest.fixture(scope="session")
def rendered(kubectl: str) -> Rendered:
    return render_kustomization(kubectl, DEPLOY)


@pytest.fixture(scope="session")
def core(kubectl: str) -> Rendered:
    """deploy/core alone: the part applied on clusters without the Prometheus Operator."""
    return render_kustomization(kubectl, DEPLOY / "core")


@pytest.fixture(scope="session")
def deployment(rendered: Rendered) -> dict[str, Any]:
    return rendered.one("Deployment", "weightgate-controller")


@pytest.fixture(scope="session")
def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["controller"]
    return dict(containers[0])
