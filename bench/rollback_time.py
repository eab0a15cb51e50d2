"""Time to rollback: how long weightgate takes to put a faulty canary back on v1.

Injects a fault into reviews v3 (20% 5xx; separately +1 s latency) at a seeded random moment in
a 60 s step at 50%, and times from the injection until the VirtualService sends 100% to v1
again, 20 runs per fault kind, beside Flagger's bound for the same settings. Runs in parallel
lanes (one namespace and mesh each) on one API stand-in, one Prometheus and one
`weightgate controller`. From the repo root:

    .venv/bin/python bench/rollback_time.py
    .venv/bin/python bench/rollback_time.py --runs 2 --lanes 4 --json /tmp/rollback.json

A second configuration with critical thresholds (error-rate criticalMax 5, latency-p99
criticalMax 2000) is measured beside the first when the TrafficShift API has `criticalMax`.
"""

from __future__ import annotations

import argparse
import queue
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the _rollback_* helpers

from _rollback_cluster import LaneClient
from _rollback_metrics import controller_ticks
from _rollback_report import (
    FLAGGER_BOUND_SECONDS,
    cpu_lines,
    machine,
    summarize,
    table,
    write_json,
)
from _rollback_run import (
    CRITICAL_GATES,
    CRITICAL_THRESHOLDS,
    DEFAULT_GATES,
    FAILURE_LIMIT,
    INTERVAL,
    STEPS,
    WINDOW,
    LaneRunner,
    RunResult,
    RunSpec,
    Stopped,
    plan_runs,
    spec_has_check_interval,
    spec_has_critical_max,
)
from _rollback_stack import BenchStack, Lane, StackSettings, box_busy_seconds

MESH_POLL_SECONDS = 1.0  # how often each mesh re-reads its routes (Istio pushes in about 1 s)
RUN_RESERVE_SECONDS = 150.0  # a lane starts no run with less than this left of the budget


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per fault kind (default 20)")
    parser.add_argument(
        "--lanes", type=int, default=0, help="parallel lanes (default 8; 12 with two configs)"
    )
    parser.add_argument("--rps", type=float, default=10.0, help="load per lane (default 10)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the injection moments")
    parser.add_argument("--scrape", default="5s", help="Prometheus scrape interval (default 5s)")
    parser.add_argument("--json", type=Path, help="write the figures and every run here")
    parser.add_argument("--budget", type=float, default=840.0, help="seconds; no run starts late")
    parser.add_argument("--keep", type=Path, help="keep the processes' logs in this folder")
    parser.add_argument(
        "--configs",
        choices=["auto", DEFAULT_GATES, CRITICAL_GATES, "both"],
        default="auto",
        help="gate configurations (auto: both once the API has criticalMax)",
    )
    return parser.parse_args(argv)


def chosen_configs(choice: str) -> list[str]:
    if choice == "auto":
        choice = "both" if spec_has_critical_max() else DEFAULT_GATES
    if choice in (CRITICAL_GATES, "both") and not spec_has_critical_max():
        raise SystemExit("error: --configs critical needs `criticalMax` in the TrafficShift API")
    return [DEFAULT_GATES, CRITICAL_GATES] if choice == "both" else [choice]


@contextmanager
def work_folder(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="wg-rollback-") as scratch:
        yield Path(scratch)


def settings_document(args: argparse.Namespace, configs: list[str], lanes: int) -> dict[str, Any]:
    return {
        "steps": STEPS,
        "interval": INTERVAL,
        "analysis_window": WINDOW,
        "failure_limit": FAILURE_LIMIT,
        "check_interval": "10s (controller default"
        + (", and analysis.checkInterval: 10s)" if spec_has_check_interval() else ")"),
        "gates": "profile default: error-rate max 1 (%), latency-p99 max 500 (ms)",
        "critical_thresholds": {k: v[1] for k, v in CRITICAL_THRESHOLDS.items()}
        if CRITICAL_GATES in configs
        else None,
        "configs": configs,
        "runs_per_fault": args.runs,
        "lanes": lanes,
        "rps_per_lane": args.rps,
        "scrape_interval": args.scrape,
        "seed": args.seed,
        "injection": "uniform 0-60 s after step 1 (50%) is on the VirtualService",
        "vs_poll_seconds": 0.1,
        "mesh_route_poll_seconds": MESH_POLL_SECONDS,
        "cap_seconds": 180,
    }


def lane_worker(
    lane: Lane,
    stack: BenchStack,
    work: queue.Queue[RunSpec],
    results: list[RunResult],
    stopping: threading.Event,
    last_start: float,
) -> None:
    client = LaneClient(stack.api_url, lane.mesh, stack.prometheus_url, lane.namespace)
    runner = LaneRunner(client, stopping)
    try:
        while not stopping.is_set() and time.monotonic() < last_start:
            try:
                spec = work.get_nowait()
            except queue.Empty:
                return
            result = runner.run(spec)
            results.append(result)
            print(f"  run {spec.number:3d} {lane.namespace:<7} {_run_line(result)}", flush=True)
    except Stopped:
        return
    finally:
        client.close()


def _run_line(result: RunResult) -> str:
    took = "-" if result.rollback_seconds is None else f"{result.rollback_seconds:5.1f} s"
    detail = result.error or f"{result.phase}/{result.reason}"
    return (
        f"{result.config:<8} {result.fault:<10} delay {result.delay_seconds:4.1f} s  "
        f"{result.outcome:<11} {took:>7}  {detail}"
    )


def drive(stack: BenchStack, plan: list[RunSpec], deadline: float) -> list[RunResult]:
    """Run the plan across the lanes until done, out of budget, Ctrl-C or a crashed process."""
    work: queue.Queue[RunSpec] = queue.Queue()
    for spec in plan:
        work.put(spec)
    results: list[RunResult] = []
    stopping = threading.Event()
    threads = [
        threading.Thread(
            target=lane_worker,
            args=(lane, stack, work, results, stopping, deadline - RUN_RESERVE_SECONDS),
            name=lane.namespace,
            daemon=True,
        )
        for lane in stack.lanes
    ]
    for thread in threads:
        thread.start()
    try:
        while any(thread.is_alive() for thread in threads):
            crashed = stack.crashed()
            if crashed:
                print(f"error: processes exited during the benchmark: {crashed}", file=sys.stderr)
                break
            time.sleep(1.0)
    finally:
        stopping.set()
        for thread in threads:
            thread.join(timeout=15)
    return sorted(results, key=lambda result: result.number)


def _terminate_as_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configs = chosen_configs(args.configs)
    plan = plan_runs(args.runs, configs, args.seed)
    lanes = args.lanes or min(len(plan), 8 if len(configs) == 1 else 12)
    # SIGINT too: a shell that starts us in the background hands us SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    settings = settings_document(args, configs, lanes)
    print(f"machine: {machine()}")
    print(f"settings: {settings}", flush=True)
    began = time.monotonic()
    try:
        results, extra = measure(args, plan, lanes, began)
    except KeyboardInterrupt:
        print("interrupted: every process stopped", file=sys.stderr)
        return 130
    wall = time.monotonic() - began
    rows = summarize(plan, results)
    print_figures(rows, extra, wall)
    if args.json is not None:
        document = {
            "machine": machine(),
            "settings": settings,
            "flagger_bound_seconds": FLAGGER_BOUND_SECONDS,
            "summary": rows,
            **extra,
            "wall_seconds": round(wall, 1),
            "runs": [result.as_json() for result in results],
        }
        write_json(args.json, document)
        print(f"JSON written to {args.json}")
    return 0 if len(results) == len(plan) else 1


def measure(
    args: argparse.Namespace, plan: list[RunSpec], lanes: int, began: float
) -> tuple[list[RunResult], dict[str, Any]]:
    """Start the stack, drive the plan, and read CPU and tick figures before stopping it."""
    stack_settings = StackSettings(lanes, args.rps, args.scrape, MESH_POLL_SECONDS, "10s")
    with work_folder(args.keep) as folder, BenchStack(folder, stack_settings) as stack:
        print(f"stack up in {time.monotonic() - began:.0f} s ({lanes} lanes)", flush=True)
        cpu_before, box_before = stack.cpu_by_part(), box_busy_seconds()
        measured_from = time.monotonic()
        results = drive(stack, plan, began + args.budget)
        measured = time.monotonic() - measured_from
        cpu = {k: v - cpu_before.get(k, 0.0) for k, v in stack.cpu_by_part().items()}
        cpu["other processes"] = max(0.0, box_busy_seconds() - box_before - sum(cpu.values()))
        extra = {
            "cpu_seconds": {k: round(v, 1) for k, v in cpu.items()},
            "measured_seconds": round(measured, 1),
            "controller_ticks": controller_ticks(stack),
        }
    return results, extra


def print_figures(rows: list[dict[str, Any]], extra: dict[str, Any], wall: float) -> None:
    measured = extra["measured_seconds"]
    print()
    print(table(rows))
    print(
        f"\nFlagger's bound: interval 10 s x threshold 2 + its 1m metric window = "
        f"{FLAGGER_BOUND_SECONDS} s"
    )
    print(f"\nCPU over the {measured:.0f} s of runs (2 cores = 200%):")
    print("\n".join(cpu_lines(extra["cpu_seconds"], measured)))
    print(f"controller ticks: {extra['controller_ticks']}")
    print(f"wall time: {wall:.0f} s")


if __name__ == "__main__":
    raise SystemExit(main())
