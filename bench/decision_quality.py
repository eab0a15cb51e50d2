"""Decision quality: both judges' canary decisions on simulated traffic whose truth is known.

Drives the project's own judge and state machine (`request_for`, `evaluate_batch`, `decide`,
`confirm_write`) in simulated time on simulated Istio telemetry and a simulated Prometheus, for
the new `sequential` judge and the old `threshold` judge side by side on the same random
streams, over a grid of base 5xx rates, canary scenarios, traffic, step ladders and intervals.
Reports per cell the shares rolled back, promoted and rolled back by deadline, median times to
decision, and median canary 5xx served; then checks the acceptance figures (PASS/MISS). The
models (traffic, Prometheus) are described in bench/_dq_traffic.py and bench/_dq_prom.py.
From the repo root:

    .venv/bin/python bench/decision_quality.py                      # the full grid, 2000 each
    .venv/bin/python bench/decision_quality.py --quick --json /tmp/dq.json
    .venv/bin/python bench/decision_quality.py --quick --scenario errors-20pct --rps 10
    .venv/bin/python bench/decision_quality.py --quick --confidence 0.999
    .venv/bin/python bench/decision_quality.py --quick --profile relative --overdispersed

--json writes the cells (exactly the keys in _dq_report.CELL_KEYS; rates as fractions, 0.009 =
0.9%); the rest (settings, truth, unfinished shifts, timing, acceptance) goes beside it in
<name>.extras.json.

A run may be done in slices (a cell's random streams hang off its label, so a cell comes out
the same whichever run simulates it) and reported as one with --merge:

    .venv/bin/python bench/decision_quality.py --rps 2 --json /tmp/dq/rps2.json
    .venv/bin/python bench/decision_quality.py --rps 10 50 --json /tmp/dq/rps10-50.json
    .venv/bin/python bench/decision_quality.py --merge /tmp/dq/rps2.json /tmp/dq/rps10-50.json
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import multiprocessing
import sys
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the _dq_* helpers
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the controller package

from _dq_accept import by_truth, judge_acceptance, render
from _dq_report import JUDGES, Outcome, cell_stats, extra_stats, table
from _dq_shift import PROFILES, Settings, Setup, Timers, run_shift
from _dq_traffic import SCENARIOS, Cell, truth

BATCH = 50  # replications per task handed to a worker
_SETUPS: dict[tuple[str, tuple[int, ...], int], Setup] = {}
_SETTINGS = Settings()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--replications", type=int, help="per cell and judge (default 2000; --quick 200)")
    add("--quick", action="store_true", help="200 replications per cell and judge")
    add("--jobs", type=int, default=2, help="worker processes (default 2, the machine's cores)")
    add("--seed", type=int, default=1, help="base seed (the same for both judges)")
    add("--confidence", type=float, default=0.99, help="analysis.confidence (default 0.99)")
    add(
        "--profile",
        choices=sorted(PROFILES),
        default="default",
        help="default: error-rate max 1, latency-p99 max 500; relative: error-rate "
        "maxOverStable 0.5, latency-p99 maxRatioToStable 1.5",
    )
    add("--overdispersed", action="store_true", help="bursty 5xx: Beta per-second 5xx rate")
    add(
        "--concentration",
        type=float,
        default=20.0,
        help="a + b of that Beta (default 20; smaller is burstier)",
    )
    add(
        "--start-base",
        choices=["start", "first-check"],
        default="start",
        help="start: the counters' base is read as step 1 is decided (the controller's "
        "starting evidence); first-check: at the first check (a lone shift in daemon rounds)",
    )
    add("--scrape", type=float, default=5.0, help="scrape interval, seconds (default 5)")
    add("--cap", type=float, default=1800.0, help="simulated seconds before a shift is cut")
    add("--scenario", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    add("--base", nargs="+", type=float, default=[0.1, 0.5, 0.9], help="base 5xx, percent")
    add("--rps", nargs="+", type=float, default=[2, 10, 50])
    add("--steps", nargs="+", default=["10,20,50,100", "50,100"])
    add("--interval", nargs="+", type=int, default=[30, 60], help="seconds")
    add("--judge", nargs="+", choices=JUDGES, default=list(JUDGES))
    add(
        "--only-cells",
        metavar="GLOB",
        help="cells whose label matches, e.g. 'errors-2x/0.9/50/*/60s' "
        "(scenario/base%%/rps/steps/interval)",
    )
    add(
        "--merge",
        nargs="+",
        type=Path,
        metavar="JSON",
        help="report the cells of earlier --json runs (slices of one grid, same settings) as "
        "one run, simulating nothing",
    )
    add("--json", type=Path, help="write the cells here (and the rest to <name>.extras.json)")
    return parser.parse_args(argv)


def grid(args: argparse.Namespace) -> list[Cell]:
    cells = [
        Cell(
            scenario, round(base / 100, 12), rps, tuple(int(w) for w in steps.split(",")), interval
        )
        for scenario in args.scenario
        for base in args.base
        for rps in args.rps
        for steps in args.steps
        for interval in args.interval
    ]
    if args.only_cells:
        cells = [c for c in cells if fnmatch.fnmatch(c.label, args.only_cells)]
    return cells


def _init_worker(settings: Settings) -> None:
    global _SETTINGS  # noqa: PLW0603 - one worker process, one run's settings
    _SETTINGS = settings


def run_task(
    task: tuple[int, Cell, str, int, int],
) -> tuple[int, str, list[Outcome], Timers, float]:
    """Replications first..last-1 of one judge on one cell, in a worker."""
    index, cell, judge, first, last = task
    began = time.perf_counter()
    setup = _SETUPS.get((judge, cell.steps, cell.interval))
    if setup is None:
        setup = _SETUPS[(judge, cell.steps, cell.interval)] = Setup.build(judge, cell, _SETTINGS)
    timers = Timers()
    cell_key = zlib.crc32(cell.label.encode())
    shifts: list[Outcome] = [
        run_shift(setup, cell, (_SETTINGS.seed, cell_key, rep), _SETTINGS, timers).as_tuple()
        for rep in range(first, last)
    ]
    return index, judge, shifts, timers, time.perf_counter() - began


def simulate(
    cells: list[Cell], judges: list[str], replications: int, settings: Settings, jobs: int
) -> tuple[dict[tuple[int, str], list[Outcome]], dict[str, float]]:
    # Slow cells first (low traffic, long intervals), so the last tasks are short ones.
    order = sorted(range(len(cells)), key=lambda i: (cells[i].rps, -cells[i].interval))
    tasks = [
        (i, cells[i], judge, first, min(first + BATCH, replications))
        for i in order
        for judge in judges
        for first in range(0, replications, BATCH)
    ]
    results: dict[tuple[int, str], list[Outcome]] = {}
    cost = {"busy": 0.0, "evaluate": 0.0, "decide": 0.0, "calls": 0.0}
    began, reported = time.monotonic(), 0
    if jobs > 1:
        pool = multiprocessing.Pool(jobs, initializer=_init_worker, initargs=(settings,))
        done = pool.imap_unordered(run_task, tasks)
    else:
        _init_worker(settings)
        pool, done = None, map(run_task, tasks)
    try:
        for count, (index, judge, shifts, timers, busy) in enumerate(done, 1):
            results.setdefault((index, judge), []).extend(shifts)
            cost["busy"] += busy
            cost["evaluate"] += timers.evaluate
            cost["decide"] += timers.decide
            cost["calls"] += timers.calls
            if count * 10 // len(tasks) > reported:
                reported = count * 10 // len(tasks)
                print(
                    f"  {10 * reported}% of {len(tasks)} tasks, {time.monotonic() - began:.0f} s",
                    flush=True,
                )
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return results, cost


def cost_lines(cost: dict[str, float], shifts: int) -> list[str]:
    calls = max(cost["calls"], 1.0)
    busy = max(cost["busy"], 1e-9)
    production = cost["evaluate"] + cost["decide"]
    return [
        f"replications: {shifts}; worker time {cost['busy']:.0f} s, "
        f"{1000 * cost['busy'] / max(shifts, 1):.1f} ms per replication, "
        f"{cost['calls'] / max(shifts, 1):.1f} checks per replication",
        f"production calls per check: request_for + evaluate_batch "
        f"{1000 * cost['evaluate'] / calls:.3f} ms, decide {1000 * cost['decide'] / calls:.3f} ms"
        f" ({100 * production / busy:.0f}% of worker time; the simulation the rest)",
    ]


_SAME_IN_EVERY_SLICE = ("replications", "seed", "confidence", "profile", "settings")


def merge(paths: list[Path]) -> int:
    """The table and acceptance check of slices of one run, from their JSON files."""
    stats: dict[tuple[Cell, str], dict[str, Any]] = {}
    unfinished: dict[tuple[Cell, str], int] = {}
    first: dict[str, Any] | None = None
    wall = 0.0
    for path in paths:
        side = json.loads(path.with_suffix(".extras.json").read_text())
        settings = side["settings"]
        if first is None:
            first = settings
        differs = [k for k in _SAME_IN_EVERY_SLICE if settings.get(k) != first.get(k)]
        if differs:
            raise SystemExit(f"error: {path} was run with other {', '.join(differs)}")
        extras = {(c["cell"], c["judge"]): c for c in side["cells"]}
        for row in json.loads(path.read_text()):
            cell = Cell(
                row["scenario"],
                row["base_error"],
                float(row["rps"]),
                tuple(row["steps"]),
                row["interval"],
            )
            key = (cell, row["judge"])
            if key in stats:
                raise SystemExit(f"error: {cell.label} ({row['judge']}) is in two slices")
            stats[key] = row
            unfinished[key] = extras[(cell.label, row["judge"])]["unfinished"]
        wall += float(side.get("wall_seconds", 0.0))
    assert first is not None
    cells = sorted({cell for cell, _ in stats}, key=_grid_order)
    gates = PROFILES[first["profile"]]
    truths = {cell: truth(cell, gates) for cell in cells}
    print(f"merged {len(paths)} slices: {len(cells)} cells, settings {first}")
    print(table(cells, stats, truths, unfinished))
    verdicts = judge_acceptance(stats, cells, float(first["confidence"]))
    print(f"\nAcceptance (confidence {first['confidence']:g}, profile {first['profile']}):")
    print(render(verdicts))
    print(by_truth(stats, cells, truths))
    shifts = sum(int(row["replications"]) for row in stats.values())
    print(f"\nreplications: {shifts}; wall time of the slices: {wall:.0f} s")
    return 0


def _grid_order(cell: Cell) -> tuple[Any, ...]:
    return (
        list(SCENARIOS).index(cell.scenario),
        cell.base_error,
        cell.rps,
        -len(cell.steps),
        cell.interval,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.merge:
        return merge(args.merge)
    replications = args.replications or (200 if args.quick else 2000)
    settings = Settings(
        args.profile,
        args.confidence,
        args.scrape,
        args.cap,
        args.concentration if args.overdispersed else 0.0,
        args.seed,
        args.start_base,
    )
    cells = grid(args)
    if not cells:
        raise SystemExit("error: no cell matches the filters")
    gates = PROFILES[args.profile]
    truths = {cell: truth(cell, gates) for cell in cells}
    described = {
        **vars(args),
        "json": str(args.json),
        "replications": replications,
        "settings": vars(settings),
    }
    print(f"settings: {described}")
    print(
        f"{len(cells)} cells x {len(args.judge)} judges x {replications} replications, "
        f"{args.jobs} jobs",
        flush=True,
    )
    began = time.monotonic()
    results, cost = simulate(cells, args.judge, replications, settings, args.jobs)
    wall = time.monotonic() - began
    stats: dict[tuple[Cell, str], dict[str, Any]] = {}
    extras: dict[tuple[Cell, str], dict[str, Any]] = {}
    for (index, judge), shifts in results.items():
        stats[(cells[index], judge)] = cell_stats(judge, cells[index], shifts)
        extras[(cells[index], judge)] = extra_stats(shifts)
    unfinished = {key: extra["unfinished"] for key, extra in extras.items()}
    print(table(cells, stats, truths, unfinished))
    verdicts = judge_acceptance(stats, cells, args.confidence)
    print(
        f"\nAcceptance (confidence {args.confidence:g}, profile {args.profile}"
        f"{', overdispersed' if args.overdispersed else ''}):"
    )
    print(render(verdicts))
    print(by_truth(stats, cells, truths))
    shifts = sum(len(s) for s in results.values())
    print()
    print("\n".join(cost_lines(cost, shifts)))
    print(f"wall time: {wall:.0f} s")
    if args.json is not None:
        ordered = [stats[(c, j)] for c in cells for j in args.judge if (c, j) in stats]
        args.json.write_text(json.dumps(ordered, indent=1) + "\n")
        side = args.json.with_suffix(".extras.json")
        side.write_text(
            json.dumps(
                {
                    "settings": described,
                    "cells": [
                        {"cell": c.label, "judge": j, "truth": truths[c], **extras[(c, j)]}
                        for c in cells
                        for j in args.judge
                        if (c, j) in extras
                    ],
                    "acceptance": [
                        {
                            "line": v.line.text,
                            "status": v.status.strip(),
                            "missed": [f"{c.label}: {f}" for c, ok, f, _ in v.checked if not ok],
                        }
                        for v in verdicts
                    ],
                    "cost": cost_lines(cost, shifts),
                    "wall_seconds": round(wall, 1),
                },
                indent=1,
                default=str,
            )
            + "\n"
        )
        print(f"JSON written to {args.json} and {side}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
