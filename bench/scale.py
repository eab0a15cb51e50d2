"""Scale benchmark: N active TrafficShifts (three builtin gates each, check interval 10 s) on one
controller process against the sandbox API and a real Prometheus fed by a synthetic Istio
exporter, in two modes side by side ("optimized": batched queries and a watch cache;
"baseline": neither). Prints, per N, PromQL queries per interval, Kubernetes API requests per
tick, tick lag p50/p99/max, CPU seconds per 1000 ticks, average cores and peak RSS, with ratios.

From the repo root:

    .venv/bin/python bench/scale.py                               # N = 100 and 1000
    .venv/bin/python bench/scale.py --sizes 100 --seconds 60 --json scale.json

Per N it starts a fresh stack (API, exporter, Prometheus scraping every 5 s), creates N
VirtualServices, DestinationRules and TrafficShifts (steps 10/20/50/100, interval 10m, so none
advances while measuring), then runs each mode's controller: warm-up until every shift is
Progressing with every gate passing on a check recorded by that controller, then a measuring
window. Server-side
counts: Prometheus's own prometheus_http_requests_total and the sandbox API's /admin/requests.
Every process it starts is stopped, on Ctrl-C or error too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the helpers beside this file import as `bench._scale_*`

from bench._scale_controller import MODES, ControllerProcess  # noqa: E402
from bench._scale_report import (  # noqa: E402
    ModeResult,
    bucket_delta,
    bucket_quantile,
    ratios,
    read_controller,
    read_query_count,
    table,
)
from bench._scale_stack import ScaleStack, ShiftShape  # noqa: E402

CHECK_INTERVAL_SECONDS = 10.0
# Fields of the controller's "controller.started" log line that show which mode it really runs.
REPORTED_SETTINGS = ("query_batching", "watch_cache", "tick_period_seconds")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000", help="N values, comma-separated")
    parser.add_argument("--seconds", type=float, default=60.0, help="measuring window per mode")
    parser.add_argument(
        "--modes", default="optimized,baseline", help=f"modes in run order, from {sorted(MODES)}"
    )
    parser.add_argument(
        "--warmup-timeout", type=float, default=180.0, help="give up warming up after this"
    )
    parser.add_argument("--per-namespace", type=int, default=100, help="services per namespace")
    parser.add_argument("--seed", type=int, default=1, help="seed of the exporter's latencies")
    parser.add_argument("--log-level", default="info", help="the controller's log level")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--keep", type=Path, help="keep logs and data in DIR (default: temp)")
    args = parser.parse_args(argv)
    args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.mode_list = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in args.mode_list if m not in MODES]
    if unknown or not args.mode_list:
        parser.error(f"--modes: unknown {unknown}; use some of {sorted(MODES)}")
    return args


def _checked_since(shift: dict[str, Any], since: float) -> bool:
    """Progressing, checked by this controller, every gate passing: the steady state. (A step's
    first checks under the sequential judge wait for minRequests; measuring from there would
    count each shift's one-time write of its first passing verdict.)"""
    status = shift.get("status") or {}
    checked = status.get("lastCheckAt")
    if status.get("phase") != "Progressing" or not checked:
        return False
    gates = status.get("gates") or []
    if not gates or any(g.get("verdict") != "Pass" for g in gates):
        return False
    return datetime.fromisoformat(checked).timestamp() >= since - 1.0  # second-resolution stamps


def warm_up(stack: ScaleStack, controller: ControllerProcess, timeout: float) -> bool:
    """Wait until every shift is Progressing with passing gates checked by this controller."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        controller.check_alive()
        shifts = stack.shifts()
        ready = sum(_checked_since(s, controller.started_at) for s in shifts)
        if shifts and ready == len(shifts):
            return True
        time.sleep(3.0)
    return False


def measure(
    stack: ScaleStack, controller: ControllerProcess, seconds: float, warm: tuple[float, bool]
) -> ModeResult:
    # CPU is read inside the metrics reads, so the bench's own scrapes are not billed to it.
    before = read_controller(controller.metrics_text())
    queries_before = read_query_count(stack.prometheus_self_metrics())
    api_before = stack.api_requests()
    cpu_before, started = controller.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    cpu_after, elapsed = controller.cpu_seconds(), time.monotonic() - started
    api_after = stack.api_requests()
    queries_after = read_query_count(stack.prometheus_self_metrics())
    after = read_controller(controller.metrics_text())
    api_requests = api_after["total"] - api_before["total"]
    by_kind = {
        kind: count - api_before.get(kind, 0)
        for kind, count in api_after.items()
        if kind != "total" and count != api_before.get(kind, 0)
    }
    result = ModeResult(
        mode=controller.mode.name,
        warmup_seconds=warm[0],
        warmed_up=warm[1],
        window_seconds=elapsed,
        peak_rss_mb=controller.peak_rss_mb(),
        api_requests=api_requests,
        api_requests_by_kind=by_kind,
        ticks_source=after.ticks_source,
        lag_max=after.lag_max,
    )
    cpu = cpu_after - cpu_before
    result.average_cores = cpu / elapsed
    if queries_before is not None and queries_after is not None:
        result.queries = queries_after - queries_before
        result.queries_per_interval = result.queries / (elapsed / CHECK_INTERVAL_SECONDS)
    if before.ticks is not None and after.ticks is not None:
        result.ticks = after.ticks - before.ticks
        if result.ticks > 0:
            result.api_requests_per_tick = api_requests / result.ticks
            result.cpu_seconds_per_1000_ticks = 1000 * cpu / result.ticks
    if before.tick_errors is not None and after.tick_errors is not None:
        result.tick_errors = after.tick_errors - before.tick_errors
    _lag_quantiles(result, bucket_delta(before.lag_buckets, after.lag_buckets))
    return result


def _lag_quantiles(result: ModeResult, lag: dict[float, float] | None) -> None:
    if lag is None:
        return
    quantiles = [bucket_quantile(q, lag) for q in (0.5, 0.99)]
    if result.lag_max is not None:
        ceiling = result.lag_max
        result.lag_capped_at_max = any(q is not None and q > ceiling for q in quantiles)
        quantiles = [None if q is None else min(q, ceiling) for q in quantiles]
    result.lag_p50, result.lag_p99 = quantiles


def run_mode(stack: ScaleStack, workdir: Path, mode: str, args: argparse.Namespace) -> ModeResult:
    settings: dict[str, str | Path] = {
        "prometheus_url": stack.prometheus_url,
        "kubeconfig": stack.kubeconfig,
        "check_interval": f"{CHECK_INTERVAL_SECONDS:g}s",
        "log_level": args.log_level,
    }
    controller = ControllerProcess(workdir / mode, MODES[mode], settings)
    try:
        controller.start()
        started = time.monotonic()
        warmed = warm_up(stack, controller, args.warmup_timeout)
        warm = (time.monotonic() - started, warmed)
        print(
            f"  {mode}: warm-up {warm[0]:.0f} s{'' if warmed else ' (incomplete)'}; "
            f"measuring {args.seconds:g} s",
            flush=True,
        )
        result = measure(stack, controller, args.seconds, warm)
        started_line = controller.started_record()
        result.controller_settings = {
            key: started_line[key] for key in REPORTED_SETTINGS if key in started_line
        }
    finally:
        controller.stop()
    result.phases = stack.phase_counts()
    return result


def run_size(n: int, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    stack = ScaleStack(workdir, n, args.per_namespace, args.seed)
    try:
        started = time.monotonic()
        stack.start()
        stack.create_objects(ShiftShape())
        print(
            f"N = {n}: stack and {3 * n} objects ready in {time.monotonic() - started:.0f} s",
            flush=True,
        )
        results = [run_mode(stack, workdir, mode, args) for mode in args.mode_list]
    finally:
        stack.stop()
    title = (
        f"N = {n} shifts in {stack.namespaces} namespaces, 3 gates each, check interval "
        f"{CHECK_INTERVAL_SECONDS:g} s, window {args.seconds:g} s"
    )
    print("\n" + table(title, results) + "\n", flush=True)
    return {
        "n": n,
        "namespaces": stack.namespaces,
        "modes": {r.mode: r.to_json() for r in results},
        "ratios": ratios(results),
    }


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM cleans up like Ctrl-C
    started = time.monotonic()
    report: dict[str, Any] = {
        "command": " ".join([".venv/bin/python", "bench/scale.py", *(argv or sys.argv[1:])]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "check_interval_seconds": CHECK_INTERVAL_SECONDS,
        "sizes": [],
    }
    with tempfile.TemporaryDirectory(prefix="wg-scale-") as scratch:
        root = args.keep or Path(scratch)
        try:
            for n in args.size_list:
                report["sizes"].append(run_size(n, root / f"n{n}", args))
        except KeyboardInterrupt:
            print("interrupted: every process started was stopped", file=sys.stderr)
            return 130
    report["wall_seconds"] = time.monotonic() - started
    print(f"wall time {report['wall_seconds']:.0f} s")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
