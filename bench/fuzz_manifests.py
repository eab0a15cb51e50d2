"""A long fuzz campaign on the manifest readers: seeded mutations of the shipped samples and
gate profiles through `weightgate validate` and the `weightgate run` reader, in process.

Counts every finding (a traceback, an exit code other than 0 and 2, a run-reader exception, an
accepted shift the API server would refuse) and the time of each run. The test in `make test`
runs 2,000 inputs of seed 1; this runs many more, over several seeds. From the repo root:

    .venv/bin/python bench/fuzz_manifests.py
    .venv/bin/python bench/fuzz_manifests.py --seeds 2 3 --inputs 5000 --json /tmp/fuzz.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: tests.fuzz

from controller.manifests import load_profiles
from tests.fuzz.harness import SHIPPED_PROFILES, Outcome, check
from tests.fuzz.mutations import inputs


def campaign(seed: int, count: int) -> list[Outcome]:
    profiles = load_profiles(SHIPPED_PROFILES)
    with tempfile.TemporaryDirectory() as workdir:
        return [
            check(index, kind, data, Path(workdir), profiles)
            for index, kind, data in inputs(seed, count)
        ]


@dataclass(frozen=True)
class Summary:
    seed: int
    inputs: int
    exit_codes: dict[str, int]
    findings: list[dict[str, object]]
    over_5s: int
    median_ms: float
    p99_ms: float
    max_ms: float
    wall_s: float


def summary(seed: int, outcomes: list[Outcome], wall: float) -> Summary:
    seconds = sorted(o.seconds for o in outcomes)
    codes: dict[str, int] = {}
    for outcome in outcomes:
        codes[str(outcome.exit_code)] = codes.get(str(outcome.exit_code), 0) + 1
    return Summary(
        seed=seed,
        inputs=len(outcomes),
        exit_codes=codes,
        findings=[
            {"index": o.index, "kind": o.kind, "problem": o.problem}
            for o in outcomes
            if o.problem is not None
        ],
        over_5s=sum(1 for s in seconds if s > 5.0),
        median_ms=round(statistics.median(seconds) * 1000, 1),
        p99_ms=round(seconds[int(0.99 * (len(seconds) - 1))] * 1000, 1),
        max_ms=round(seconds[-1] * 1000, 1),
        wall_s=round(wall, 1),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103, 104, 105])
    parser.add_argument("--inputs", type=int, default=4000, help="inputs per seed")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results: list[Summary] = []
    for seed in args.seeds:
        started = time.perf_counter()
        result = summary(seed, campaign(seed, args.inputs), time.perf_counter() - started)
        results.append(result)
        print(
            f"seed {seed}: {result.inputs} inputs, exit codes {result.exit_codes}, "
            f"{len(result.findings)} finding(s), {result.over_5s} over 5 s, "
            f"median {result.median_ms} ms, p99 {result.p99_ms} ms, max {result.max_ms} ms, "
            f"{result.wall_s} s",
            flush=True,
        )
        for finding in result.findings[:5]:
            print(f"  {finding}")
    total = sum(r.inputs for r in results)
    found = sum(len(r.findings) for r in results)
    print(f"total: {total} inputs, {found} finding(s) on Python {platform.python_version()}")
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
