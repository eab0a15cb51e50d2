"""A daemon SIGKILLed at random moments, with a shift deleted and a second shift on the same
route mixed in, ends every case where it should: promoted, rolled back on evidence, rolled back
on delete (then let go), or refusing the rival while the first shift is promoted.

This is the light version (one case of each kind). The full version is
`.venv/bin/python bench/chaos_sigkill.py`; here, WEIGHTGATE_DAEMON_CHAOS_RUNS=20 does the same.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from controller.sandbox.stack import SandboxInfo
from tests.integration.daemon.chaos import daemon_cases, run_daemon_chaos

RUNS = int(os.environ.get("WEIGHTGATE_DAEMON_CHAOS_RUNS", "4"))
SEED = int(os.environ.get("WEIGHTGATE_CHAOS_SEED", "20251"))


@pytest.mark.slow
@pytest.mark.timeout(120 + 90 * RUNS)
def test_a_sigkilled_daemon_ends_healthy_faulty_deleted_and_contested_shifts_rightly(
    clean_sandbox: SandboxInfo, tmp_path: Path
) -> None:
    cases = daemon_cases(RUNS)
    outcomes = run_daemon_chaos(clean_sandbox, cases, seed=SEED, logs=tmp_path)

    report = "\n".join(o.line() for o in outcomes)
    assert all(o.kills >= 1 for o in outcomes), f"a case ran without a kill:\n{report}"
    assert [o for o in outcomes if o.problems] == [], report
