"""Checks bench/_dq_prom.py against the real Prometheus: the same scrapes, the same answers?

Owns the cross-check of the simulated Prometheus. Simulates the scrapes of a few shifts (weights
0 -> 10 -> 50 -> 100, at 2 and 10 rps, one with a 20% 5xx canary), backfills them into a TSDB
with `promtool tsdb create-blocks-from openmetrics`, starts the `prometheus` binary (the
Debian package the integration tests use) over that TSDB on a loopback port, and compares every
query the judges send at every check time with the simulated answer: the same series, and the
same value within 1e-9 (relative; NaN equals NaN). From the repo root:

    .venv/bin/python bench/_dq_promcheck.py
"""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _dq_prom import LE_LABELS, SimulatedPrometheus
from _dq_shift import Settings, Setup, _World
from _dq_traffic import Cell

SCHEDULE = ((0.0, 0), (60.0, 10), (120.0, 50), (180.0, 100), (240.0, 100))
REPORTER_LABELS = {"reporter": "destination"}
CODES = ("200", "503")


def simulate(cell: Cell, seed: int) -> tuple[SimulatedPrometheus, list[float]]:
    setup = Setup.build("threshold", cell, Settings())
    world = _World(setup, cell, (seed, 7, 0), Settings(), scrape_phase=2.3)
    world.advance(0.0, 0)
    checks, weight, now = [], 0, 0.0
    for until, next_weight in SCHEDULE:
        while now + 7.7 <= until:
            now += 7.7
            world.advance(now, weight)
            checks.append(now)
        weight = next_weight
    return world.prometheus, checks


def openmetrics(
    prometheus: SimulatedPrometheus, offset: float, labels: list[dict[str, str]]
) -> str:
    lines = ["# TYPE istio_requests_total unknown"]
    buckets = ["# TYPE istio_request_duration_milliseconds_bucket unknown"]
    for subset in (0, 1):
        for code in (0, 1):
            born = prometheus.born[subset, code]
            if born < 0:
                continue
            base = {**REPORTER_LABELS, **labels[subset], "response_code": CODES[code]}
            for index in range(born, prometheus.count):
                stamp = f"{prometheus.times[index] + offset:.3f}"
                value = prometheus.values[index, subset, code]
                lines.append(f"istio_requests_total{_labels(base)} {value[0]:.0f} {stamp}")
            for column, le in enumerate(LE_LABELS, start=1):
                for index in range(born, prometheus.count):
                    stamp = f"{prometheus.times[index] + offset:.3f}"
                    value = prometheus.values[index, subset, code, column]
                    buckets.append(
                        f"istio_request_duration_milliseconds_bucket"
                        f"{_labels({**base, 'le': le})} {value:.0f} {stamp}"
                    )
    return "\n".join([*lines, *buckets, "# EOF", ""])


def _labels(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _key(labels: dict[str, str]) -> tuple[str, str]:
    return labels.get("destination_version", ""), labels.get("le", "")


def query(url: str, promql: str, at: float) -> dict[tuple[str, str], float]:
    params = urllib.parse.urlencode({"query": promql, "time": f"{at:.3f}"})
    with urllib.request.urlopen(f"{url}/api/v1/query?{params}", timeout=10) as answer:
        body = json.load(answer)
    return {_key(r["metric"]): float(r["value"][1]) for r in body["data"]["result"]}


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def compare(url: str, prometheus: SimulatedPrometheus, checks: list[float], offset: float) -> int:
    differences = compared = 0
    for at in checks:
        prometheus.now = at
        for promql, answer in prometheus.answers.items():
            mine = {_key(dict(s.labels)): s.value for s in answer()}
            real = query(url, promql, at + offset)
            compared += 1
            if mine.keys() != real.keys() or not all(_same(mine[k], real[k]) for k in mine):
                differences += 1
                if differences <= 5:
                    print(
                        f"  differs at t={at:.1f}: {promql[:70]}...\n    sim  {mine}\n"
                        f"    real {real}"
                    )
    print(f"  {compared} answers compared, {differences} differ")
    return differences


def run(cell: Cell, seed: int, folder: Path) -> int:
    prometheus, checks = simulate(cell, seed)
    offset = math.floor(time.time()) - 3 * 3600.0
    labels = prometheus.labels
    (folder / "data.om").write_text(openmetrics(prometheus, offset, labels))
    tsdb = folder / "tsdb"
    subprocess.run(
        [
            "promtool",
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(folder / "data.om"),
            str(tsdb),
        ],
        check=True,
        capture_output=True,
    )
    (folder / "prometheus.yml").write_text("global: {}\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["prometheus", f"--config.file={folder / 'prometheus.yml'}",
         f"--storage.tsdb.path={tsdb}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        print(f"{cell.label} seed {seed}: {len(checks)} check times")
        return compare(url, prometheus, checks, offset)
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> int:
    cells = [
        Cell("errors-20pct", 0.005, 10, (10, 50, 100), 60),
        Cell("healthy", 0.009, 2, (10, 50, 100), 60),
        Cell("latency-1s", 0.001, 10, (10, 50, 100), 60),
    ]
    differences = 0
    for number, cell in enumerate(cells):
        with tempfile.TemporaryDirectory(prefix="wg-dq-prom-") as scratch:
            differences += run(cell, 11 + number, Path(scratch))
    print("PASS" if differences == 0 else f"MISS: {differences} answers differ")
    return 0 if differences == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
