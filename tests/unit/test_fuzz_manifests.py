"""Fuzz: 2,000 seeded mutations of the shipped samples and profiles through `weightgate
validate` and the `weightgate run` reader give no traceback, only exit codes 0 and 2, nothing
accepted that the API server would refuse, and no run near 5 s (a hang or a blow-up, such as
an alias bomb, is a finding). The seed is fixed so CI runs the same inputs every time;
WEIGHTGATE_FUZZ_SEED explores others. bench/fuzz_manifests.py runs long campaigns."""

from __future__ import annotations

import os
from pathlib import Path

from controller.manifests import load_profiles
from tests.fuzz.harness import SHIPPED_PROFILES, check
from tests.fuzz.mutations import inputs

INPUTS = 2000
SEED = int(os.environ.get("WEIGHTGATE_FUZZ_SEED", "1"))
SLOW_SECONDS = 5.0


def test_two_thousand_mutated_manifests_never_crash_or_hang(tmp_path: Path) -> None:
    profiles = load_profiles(SHIPPED_PROFILES)
    findings: list[str] = []
    codes: dict[int, int] = {}
    kinds: dict[str, int] = {}
    for index, kind, data in inputs(SEED, INPUTS):
        outcome = check(index, kind, data, tmp_path, profiles)
        codes[outcome.exit_code] = codes.get(outcome.exit_code, 0) + 1
        kinds[kind] = kinds.get(kind, 0) + 1
        if outcome.problem is not None:
            findings.append(f"seed {SEED} input {index} ({kind}): {outcome.problem}")
        elif outcome.seconds > SLOW_SECONDS:
            findings.append(f"seed {SEED} input {index} ({kind}): took {outcome.seconds:.1f}s")
    assert findings == [], "\n".join(findings[:5])
    assert sum(codes.values()) == INPUTS
    # The inputs reach both sides: mostly refused with a message, some still valid.
    assert codes.get(2, 0) > INPUTS // 2
    assert codes.get(0, 0) > INPUTS // 50
    assert kinds["shift"] > 0
    assert kinds["profile"] > 0
