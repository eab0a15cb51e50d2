"""A controller SIGKILLed at random moments loses nothing: re-run after every kill, each shift
ends where it should with every step taken once, in order, and never early.

This is the light version (three shifts, one faulty: under a minute). The full twenty-shift
version is `.venv/bin/python bench/chaos_sigkill.py`; here, WEIGHTGATE_CHAOS_RUNS=20 does the same.
"""

from __future__ import annotations

import os

import pytest

from tests.integration.controller.chaos import chaos_cases, run_chaos
from tests.integration.controller.harness import Harness

RUNS = int(os.environ.get("WEIGHTGATE_CHAOS_RUNS", "3"))
FAULTY_RUNS = max(1, RUNS // 7)
SEED = int(os.environ.get("WEIGHTGATE_CHAOS_SEED", "20251"))


@pytest.mark.slow
@pytest.mark.timeout(120 + 60 * RUNS)
def test_sigkilled_controller_resumes_each_shift_to_its_right_end_stepping_once_in_order(
    harness: Harness, baseline_rps: float
) -> None:
    cases = chaos_cases(RUNS, FAULTY_RUNS)
    outcomes = run_chaos(harness, cases, seed=SEED, rps=baseline_rps)

    report = "\n".join(o.line() for o in outcomes)
    assert all(o.kills >= 1 for o in outcomes), f"a shift ran without being killed:\n{report}"
    assert [o for o in outcomes if o.problems] == [], report
