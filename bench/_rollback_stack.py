"""The processes of the rollback-time benchmark: one API stand-in, one mesh per lane, one
Prometheus scraping every mesh, and one `weightgate controller` watching every namespace.

Owns starting them in order (each lane's namespace seeded with Istio's bookinfo start state),
describing where each listens, reading their CPU time from /proc, and stopping every one of
them however the benchmark ends. Alertmanager and the alert sink are left out: the shifts
route no alerts, and the rollback write comes before any notification in a tick.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import yaml

from controller.api.crd import crd_manifest
from controller.sandbox.apiserver.kubeconfig import write_kubeconfig
from controller.sandbox.istio import bookinfo_start_state, istio_crds
from controller.sandbox.promstack import ManagedProcess, PrometheusProcess, PythonModuleProcess
from controller.sandbox.stack import seed

REPO = Path(__file__).resolve().parents[1]
PROFILES = REPO / "config" / "gates"
CONTROLLER_READY_EVENT = "watch.listed"
CONTROLLER_START_TIMEOUT = 60.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class StackSettings:
    lanes: int
    rps: float
    scrape_interval: str
    mesh_poll_seconds: float
    check_interval: str


@dataclass(frozen=True)
class Lane:
    index: int
    namespace: str
    mesh: str


def cpu_seconds(pid: int | None) -> float:
    """User plus system CPU time of `pid` so far (0 if it is gone)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def box_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy since boot (all processes)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _CLOCK_TICKS


class BenchStack:
    """`with BenchStack(workdir, settings) as stack:`; every process is stopped on exit."""

    def __init__(self, workdir: Path, settings: StackSettings) -> None:
        self.workdir = workdir
        self.settings = settings
        self.lanes: list[Lane] = []
        self.api_url = ""
        self.prometheus_url = ""
        self.controller_log = workdir / "controller" / "controller.log"
        self._parts: dict[str, ManagedProcess] = {}

    def __enter__(self) -> BenchStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _python(self, module: str, name: str, args: list[str]) -> PythonModuleProcess:
        part = PythonModuleProcess(module, args, self.workdir / name, name)
        self._parts[name] = part
        part.start(timeout=30)
        return part

    def _start(self) -> None:
        api = self._python(
            "controller.sandbox.apiserver", "api", ["serve", "--host", "127.0.0.1", "--port", "0"]
        )
        self.api_url = api.url
        seed(api.url, [*istio_crds(), crd_manifest()])
        for index in range(1, self.settings.lanes + 1):
            self.lanes.append(self._start_lane(index))
        targets = [lane.mesh.removeprefix("http://").rstrip("/") for lane in self.lanes]
        prometheus = PrometheusProcess(
            targets, self.workdir / "prometheus", interval=self.settings.scrape_interval
        )
        self._parts["prometheus"] = prometheus
        prometheus.start()
        self.prometheus_url = prometheus.url
        self._start_controller()

    def _start_lane(self, index: int) -> Lane:
        namespace = f"lane-{index}"
        seed(self.api_url, bookinfo_start_state(namespace))
        mesh = self._python(
            "controller.sandbox.mesh",
            f"mesh-{index}",
            [
                *("--port", "0", "--api", self.api_url, "--namespace", namespace),
                *("--rps", str(self.settings.rps), "--seed", str(index)),
                *("--poll-interval", str(self.settings.mesh_poll_seconds)),
            ],
        )
        return Lane(index, namespace, mesh.url.rstrip("/"))

    def _start_controller(self) -> None:
        directory = self.workdir / "controller"
        kubeconfig = write_kubeconfig(directory / "kubeconfig", self.api_url)
        settings = {
            "prometheus_url": self.prometheus_url,
            "kubeconfig": str(kubeconfig),
            "metrics_host": "127.0.0.1",
            "metrics_port": 0,
            "log_format": "json",
            "check_interval": self.settings.check_interval,
        }
        config = directory / "controller.yaml"
        config.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
        controller = ManagedProcess("controller", directory)
        self._parts["controller"] = controller
        command = ["controller", "--config", str(config), "--profiles", str(PROFILES)]
        controller.spawn([sys.executable, "-m", "controller", *command])
        self._wait_controller_ready(controller)

    def _wait_controller_ready(self, controller: ManagedProcess) -> None:
        deadline = time.monotonic() + CONTROLLER_START_TIMEOUT
        while time.monotonic() < deadline:
            if not controller.running:
                raise RuntimeError(
                    f"weightgate controller exited at start; last lines of {controller.log_path}:"
                    f"\n{controller.log_tail()}"
                )
            if self.controller_event(CONTROLLER_READY_EVENT) is not None:
                return
            time.sleep(0.2)
        raise RuntimeError(
            f"weightgate controller did not log {CONTROLLER_READY_EVENT} within "
            f"{CONTROLLER_START_TIMEOUT:.0f}s; see {controller.log_path}"
        )

    def controller_event(self, event: str) -> dict[str, object] | None:
        """The first JSON log record of the controller with this `event`, if any yet."""
        try:
            lines = self.controller_log.read_text(errors="replace").splitlines()
        except OSError:
            return None
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == event:
                return record
        return None

    def crashed(self) -> list[str]:
        return [name for name, part in self._parts.items() if not part.running]

    def cpu_by_part(self) -> dict[str, float]:
        """CPU seconds so far of each process, meshes summed as `meshes`, plus this one."""
        usage: dict[str, float] = {"meshes": 0.0}
        for name, part in self._parts.items():
            seconds = cpu_seconds(part.pid)
            if name.startswith("mesh-"):
                usage["meshes"] += seconds
            else:
                usage[name] = seconds
        times = os.times()
        usage["bench"] = times.user + times.system
        return usage

    def stop(self) -> None:
        """Stop every process, the controller first (so it sees no stand-in vanish)."""
        for name in ["controller", *reversed([n for n in self._parts if n != "controller"])]:
            part = self._parts.get(name)
            if part is None:
                continue
            try:
                part.stop()
            except Exception as exc:  # keep stopping the others
                print(f"warning: {name} did not stop cleanly: {exc}", file=sys.stderr)
        self._parts.clear()
