"""Running one fuzz input through what a user runs: `weightgate validate` (in process), and the
reader behind `weightgate run` (`pipeline.load_shift`), then serialising what they accept as the
API server would (no NaN or Infinity).

A run is good when it exits 0 or 2 with no traceback, the run reader raises only
`PipelineError` with exit code 2, and what it accepts can be sent to the API. Anything else is
recorded with the input's index, so `mutations.inputs(seed, ...)` regenerates it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from controller.api.profile import GateProfile
from controller.cli import main
from controller.pipeline import PipelineError, load_shift
from tests.fuzz.mutations import REPO, SAMPLES

SHIPPED_PROFILES = REPO / "config" / "gates"


@dataclass(frozen=True)
class Outcome:
    index: int
    kind: str
    seconds: float
    exit_code: int
    problem: str | None = None  # what went wrong; None for a good run


def _validate(*args: str) -> tuple[int, str | None]:
    result = CliRunner().invoke(main, ["validate", *args])
    problem = None
    if result.exit_code not in (0, 2):
        problem = f"exit {result.exit_code}: {result.output[-2000:]}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        problem = f"{type(result.exception).__name__}: {result.exception}"[:2000]
    if "Traceback" in result.output:
        problem = f"traceback printed: {result.output[-2000:]}"
    return result.exit_code, problem


def _load_for_run(path: Path, profiles: Mapping[str, GateProfile]) -> str | None:
    try:
        shift = load_shift(path, profiles)
    except PipelineError as exc:
        return None if exc.exit_code == 2 else f"run reader exit {exc.exit_code}: {exc}"
    except Exception as exc:
        return f"run reader raised {type(exc).__name__}: {exc}"[:2000]
    try:
        json.dumps(shift.to_manifest(), allow_nan=False)
    except ValueError as exc:
        return f"accepted a shift the API server would refuse: {exc}"
    return None


def check(
    index: int, kind: str, data: bytes, workdir: Path, profiles: Mapping[str, GateProfile]
) -> Outcome:
    """Run input `index` of `kind` ("shift" or "profile") and judge the run."""
    started = time.perf_counter()
    if kind == "shift":
        path = workdir / "shift.yaml"
        path.write_bytes(data)
        code, problem = _validate("--profiles", str(SHIPPED_PROFILES), str(path))
        problem = problem or _load_for_run(path, profiles)
    else:
        folder = workdir / "profiles"
        folder.mkdir(exist_ok=True)
        for stale in folder.iterdir():
            stale.unlink()
        (folder / "fuzzed.yaml").write_bytes(data)
        code, problem = _validate("--profiles", str(folder), str(SAMPLES[0]))
    return Outcome(index, kind, time.perf_counter() - started, code, problem)
