"""The whole sandbox as one unit: start every part in order, seed the bookinfo state, describe
it in DIR/sandbox.json and DIR/kubeconfig, and stop everything (nothing left running or
listening) however it ends.

Each part is its own process, so killing a controller under test never loses cluster state:
the Kubernetes API stand-in, the mesh, the alert sink, and the real Prometheus and Alertmanager.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
import yaml

from controller.api.crd import crd_manifest
from controller.sandbox.apiserver.kubeconfig import write_kubeconfig
from controller.sandbox.istio import BOOKINFO_NAMESPACE, bookinfo_start_state, istio_crds
from controller.sandbox.promstack import (
    AlertmanagerProcess,
    ManagedProcess,
    PrometheusProcess,
    PythonModuleProcess,
)
from controller.settings import SANDBOX_SETTINGS_FILE

INFO_FILE = "sandbox.json"
KUBECONFIG_FILE = "kubeconfig"


class SandboxError(RuntimeError):
    """A sandbox part failed to start or to accept the seed objects."""


@dataclass(frozen=True)
class SandboxInfo:
    """Where each part listens; written to DIR/sandbox.json for other commands and tests."""

    api: str
    prometheus: str
    alertmanager: str
    productpage: str
    mesh_admin: str
    sink: str
    namespace: str
    kubeconfig: str
    pid: int

    def write(self, directory: Path) -> None:
        target = directory / INFO_FILE
        partial = target.with_suffix(".json.tmp")
        partial.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        partial.replace(target)

    @classmethod
    def read(cls, directory: Path) -> SandboxInfo:
        path = directory / INFO_FILE
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise SandboxError(
                f"{path}: no running sandbox described there ({exc}); start one with "
                f"`weightgate sandbox up --dir {directory}`"
            ) from exc


def write_controller_settings(directory: Path, info: SandboxInfo) -> Path:
    """DIR/controller.yaml: settings for `weightgate run|controller --sandbox DIR`, with an
    Alertmanager provider named `sandbox`, so `alerts: [{provider: sandbox}]` works as is."""
    settings = {
        "prometheus_url": info.prometheus,
        "kubeconfig": info.kubeconfig,
        # Loopback and any free port: several controllers may run beside one sandbox.
        "metrics_host": "127.0.0.1",
        "metrics_port": 0,
        "alerts": {
            "prometheusExternalUrl": info.prometheus,
            "providers": {"sandbox": {"type": "alertmanager", "url": info.alertmanager}},
        },
    }
    path = directory / SANDBOX_SETTINGS_FILE
    header = "# Written by `weightgate sandbox up`: controller settings for this sandbox.\n"
    path.write_text(header + yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


def _path_for(obj: dict[str, Any]) -> str:
    group_version = obj["apiVersion"]
    plural = {
        "Namespace": "namespaces",
        "CustomResourceDefinition": "customresourcedefinitions",
        "VirtualService": "virtualservices",
        "DestinationRule": "destinationrules",
    }
    base = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
    namespace = obj["metadata"].get("namespace")
    scope = f"/namespaces/{namespace}" if namespace else ""
    return f"{base}{scope}/{plural[obj['kind']]}"


def seed(api_url: str, objects: list[dict[str, Any]]) -> None:
    """Create ``objects`` in order; an object that already exists (a restarted sandbox with a
    state file) is left as it is."""
    for obj in objects:
        response = requests.post(api_url + _path_for(obj), json=obj, timeout=10)
        if response.status_code not in (200, 201, 409):
            raise SandboxError(
                f"the sandbox API refused {obj['kind']} {obj['metadata']['name']}: "
                f"HTTP {response.status_code}: {response.text[:300]}"
            )


class Sandbox:
    """Start with ``start()`` (or ``with Sandbox(dir) as info:``); ``stop()`` always cleans up."""

    def __init__(
        self,
        directory: Path,
        *,
        rps: float = 20.0,
        namespace: str = BOOKINFO_NAMESPACE,
        keep_state: bool = True,
    ) -> None:
        self.directory = directory.resolve()
        self.rps = rps
        self.namespace = namespace
        self.keep_state = keep_state
        self._parts: list[ManagedProcess] = []
        self.prometheus: PrometheusProcess | None = None

    def _python_part(self, module: str, name: str, args: list[str]) -> PythonModuleProcess:
        part = PythonModuleProcess(module, args, self.directory / name, name)
        self._parts.append(part)
        part.start(timeout=30)
        return part

    def start(self) -> SandboxInfo:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> SandboxInfo:
        state = (
            ["--state-file", str(self.directory / "api" / "state.json")] if self.keep_state else []
        )
        api = self._python_part(
            "controller.sandbox.apiserver",
            "api",
            ["serve", "--host", "127.0.0.1", "--port", "0", *state],
        )
        seed(api.url, [*istio_crds(), crd_manifest()])
        seed(api.url, bookinfo_start_state(self.namespace))
        sink = self._python_part("controller.sandbox.sink", "sink", ["--port", "0"])
        alertmanager = AlertmanagerProcess(
            sink.url + "/alertmanager", self.directory / "alertmanager"
        )
        self._parts.append(alertmanager)
        alertmanager.start()
        mesh = self._python_part(
            "controller.sandbox.mesh",
            "mesh",
            [
                "--port",
                "0",
                "--api",
                api.url,
                "--namespace",
                self.namespace,
                "--rps",
                str(self.rps),
            ],
        )
        mesh_target = mesh.url.removeprefix("http://").rstrip("/")
        self.prometheus = PrometheusProcess(
            [mesh_target],
            self.directory / "prometheus",
            alertmanager_urls=[alertmanager.url],
        )
        self._parts.append(self.prometheus)
        self.prometheus.start()
        kubeconfig = self.directory / KUBECONFIG_FILE
        write_kubeconfig(kubeconfig, api.url, namespace=self.namespace)
        info = SandboxInfo(
            api=api.url,
            prometheus=self.prometheus.url,
            alertmanager=alertmanager.url,
            productpage=f"{mesh.url.rstrip('/')}/productpage",
            mesh_admin=mesh.url.rstrip("/"),
            sink=sink.url,
            namespace=self.namespace,
            kubeconfig=str(kubeconfig),
            pid=os.getpid(),
        )
        write_controller_settings(self.directory, info)
        info.write(self.directory)
        return info

    def stop(self) -> None:
        """Stop every part, newest first; safe to call twice and after a partial start."""
        (self.directory / INFO_FILE).unlink(missing_ok=True)
        errors: list[str] = []
        for part in reversed(self._parts):
            try:
                part.stop()
            except Exception as exc:  # noqa: BLE001 - keep stopping the others
                errors.append(f"{part.name}: {exc}")
        self._parts.clear()
        if errors:
            raise SandboxError("some sandbox parts did not stop cleanly: " + "; ".join(errors))

    def crashed_parts(self) -> list[str]:
        """Names of parts whose process has exited on its own."""
        return [part.name for part in self._parts if not part.running]

    def __enter__(self) -> SandboxInfo:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
