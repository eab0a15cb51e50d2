"""SIGKILL chaos, the full version, in two parts; one line per shift, and exit 1 if any ended
wrong.

- `weightgate run`: twenty shifts (three with a canary that turns faulty at 50%), each driven
  through SIGKILLs at seeded random moments and re-run after every kill until it exits.
- `weightgate controller`: twenty cases, one daemon SIGKILLed at random moments and started
  again at once, the four kinds in turn: healthy, deleted at 50% (the finalizer must roll the
  route back before the delete completes), contested (a second shift on the same route must be
  refused) and faulty at 50%.

From the repo root:

    .venv/bin/python bench/chaos_sigkill.py                 # starts its own sandbox
    .venv/bin/python bench/chaos_sigkill.py --runs 40 --seed 7 --sandbox .sandbox
    .venv/bin/python bench/chaos_sigkill.py --mode controller --controller-runs 40

What counts as right is in tests/integration/controller/chaos.py and
tests/integration/daemon/chaos.py (shared with the lighter acceptance tests). Takes about 15 s
per `run` shift and 20 s per daemon case on two cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
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
from tests.integration.daemon.chaos import (  # noqa: E402
    DaemonOutcome,
    daemon_cases,
    run_daemon_chaos,
)
from tests.integration.sandbox_fixtures import running_sandbox  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="shifts to drive (default 20)")
    parser.add_argument("--faulty", type=int, default=3, help="of which faulty (default 3)")
    parser.add_argument(
        "--mode",
        choices=("run", "controller", "both"),
        default="both",
        help="which part: `weightgate run`, the daemon, or both (default)",
    )
    parser.add_argument("--controller-runs", type=int, default=20, help="daemon cases (default 20)")
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


def report(outcome: ChaosOutcome | DaemonOutcome) -> None:
    print(outcome.line(), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    outcomes: list[ChaosOutcome | DaemonOutcome] = []
    with (
        tempfile.TemporaryDirectory(prefix="wg-chaos-") as scratch,
        sandbox_for(args.sandbox, Path(scratch)) as info,
    ):
        rps = load_rps(info)
        if args.mode in ("run", "both"):
            outcomes += _run_part(info, Path(scratch), args, rps)
        if args.mode in ("controller", "both"):
            started = time.monotonic()
            logs = Path(scratch) / "daemon"
            cases = daemon_cases(args.controller_runs)
            part = run_daemon_chaos(info, cases, seed=args.seed, logs=logs, report=report)
            summary(part, "daemon cases", started, args.seed)
            outcomes += part
    return 1 if any(o.problems for o in outcomes) else 0


def _run_part(
    info: SandboxInfo, scratch: Path, args: argparse.Namespace, rps: float
) -> list[ChaosOutcome]:
    harness = Harness(info, scratch)
    started = time.monotonic()
    try:
        cases = chaos_cases(args.runs, args.faulty)
        outcomes = run_chaos(harness, cases, seed=args.seed, rps=rps, report=report)
    finally:
        harness.close()
        reset_shared_state(info, rps)
        if harness.canary_faulted:
            wait_canary_quiet(info, "10s")
    summary(outcomes, "`weightgate run` shifts", started, args.seed)
    return outcomes


def summary(
    outcomes: Sequence[ChaosOutcome | DaemonOutcome], what: str, started: float, seed: int
) -> None:
    wrong = [o for o in outcomes if o.problems]
    kills = sum(o.kills for o in outcomes)
    mid_write = sum(o.mid_write_kills for o in outcomes)
    print(
        f"{len(outcomes)} {what}, {kills} SIGKILLs ({mid_write} mid-write), {len(wrong)} wrong, "
        f"{time.monotonic() - started:.0f}s (seed {seed})",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
