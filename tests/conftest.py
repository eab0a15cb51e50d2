"""Test-wide helpers: where the repo and the shared Istio fixtures are, and how property tests
run (the same examples every run, and no per-example deadline: a loaded 2-core machine must not
turn a slow example into a failure)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("weightgate", deadline=None, derandomize=True)
settings.load_profile("weightgate")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_ISTIO = REPO_ROOT.parent / "shared" / "fixtures" / "istio"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def istio_fixtures() -> Path:
    """../shared/fixtures/istio, or a skip when this clone has no shared folder beside it."""
    if not SHARED_ISTIO.is_dir():
        pytest.skip(f"Istio fixtures not found at {SHARED_ISTIO} (clone outside the workspace)")
    return SHARED_ISTIO
