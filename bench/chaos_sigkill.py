"""SIGKILL chaos for `weightgate run`, the full version: twenty shifts (three with a canary that
turns faulty at 50%), each driven through SIGKILLs at seeded random moments and re-run after
every kill until it exits; one line per shift, and exit 1 if any ended wrong.

From the repo root:

    .venv/bin/python bench/chaos_sigkill.py                 # starts its own sandbox
    .venv/bin/python bench/chaos_sigkill.py --runs 40 --seed 7 --sandbox .sandbox

What counts as right is in tests/integration/controller/chaos.py (shared with the lighter
acceptance test). Takes about 15 s per shift on two cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the harness lives in the test tree

from controller.sandbox.stack import SandboxInfo  # noqa: E402
from tests.integration.controller.chaos import ChaosOutcome, chaos_cases, run_chaos  # noqa: E402
from tests.integration.controller.harness import Harness  # noqa: E402
from tests.integration.controller.knobs import (  # noqa: E402
    load_rps,
    reset_shared_state,
    wait_canary_quiet,
)
from tests.integration.sandbox_fixtures import running_sandbox  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="shifts to drive (default 20)")
    parser.add_argument("--faulty", type=int, default=3, help="of which faulty (default 3)")
    parser.add_argument("--seed", type=int, default=20251, help="seed of the kill moments")
    parser.add_argument(
        "--sandbox",
        type=Path,
        help="use the sandbox running in DIR (`weightgate sandbox up --dir DIR`) instead of "
        "starting one",
    )
    return parser.parse_args(argv)


@contextmanager
def sandbox_for(directory: Path | None, scratch: Path) -> Iterator[SandboxInfo]:
    if directory is not None:
        yield SandboxInfo.read(directory)
        return
    directory = scratch / "sandbox"
    directory.mkdir()
    with running_sandbox(directory) as (info, _process):
        yield info


def report(outcome: ChaosOutcome) -> None:
    print(outcome.line(), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="wg-chaos-") as scratch,
        sandbox_for(args.sandbox, Path(scratch)) as info,
    ):
        rps = load_rps(info)
        harness = Harness(info, Path(scratch))
        started = time.monotonic()
        try:
            cases = chaos_cases(args.runs, args.faulty)
            outcomes = run_chaos(harness, cases, seed=args.seed, rps=rps, report=report)
        finally:
            harness.close()
            reset_shared_state(info, rps)
            if harness.canary_faulted:
                wait_canary_quiet(info, "10s")
    wrong = [o for o in outcomes if o.problems]
    kills = sum(o.kills for o in outcomes)
    mid_write = sum(o.mid_write_kills for o in outcomes)
    print(
        f"{len(outcomes)} shifts, {kills} SIGKILLs ({mid_write} mid-write), {len(wrong)} wrong, "
        f"{time.monotonic() - started:.0f}s (seed {args.seed})"
    )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
