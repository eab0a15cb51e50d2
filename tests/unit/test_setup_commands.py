"""The README's set-up commands: `make test` alone readies a fresh machine for the tests (issue
#14: it did not install Prometheus and Alertmanager; only `make demo` and `.ci/run` did), and CI
runs exactly that command."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def make_test_plan() -> str:
    """What `make test` would run, in order (`make -n` prints it, silenced lines too)."""
    make = shutil.which("make")
    assert make is not None, "make runs the README's commands; it must be on the machine"
    done = subprocess.run(
        [make, "-n", "test"], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


def test_make_test_installs_prometheus_and_alertmanager_before_the_tests(
    make_test_plan: str,
) -> None:
    install = make_test_plan.index("apt-get install")
    assert "prometheus prometheus-alertmanager" in make_test_plan[install : install + 200]
    assert install < make_test_plan.index("/pytest")


def test_make_test_checks_for_kubectl_before_the_tests(make_test_plan: str) -> None:
    assert make_test_plan.index("command -v kubectl") < make_test_plan.index("/pytest")


def test_ci_runs_the_readmes_test_command_and_nothing_else() -> None:
    commands = [
        line.strip()
        for line in (REPO / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert commands == ["set -euo pipefail", 'cd "$(dirname "$0")/.."', "make test"]
