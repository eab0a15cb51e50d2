"""The scale benchmark's world for one N: the sandbox API, the synthetic Istio exporter for N
services and a real Prometheus scraping it every 5 s, plus the N VirtualServices,
DestinationRules and TrafficShifts the controller will drive; all stopped however it ends.

Every part is a separate process on a loopback port, as in `weightgate sandbox up`; the bench
builds its own stack rather than using that one because it needs the exporter instead of the
bookinfo mesh and a fresh API per N.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from controller.api.crd import crd_manifest
from controller.sandbox.apiserver.admin import request_counts
from controller.sandbox.apiserver.kubeconfig import write_kubeconfig
from controller.sandbox.exporter.catalog import (
    CANARY_VERSION,
    STABLE_VERSION,
    VERSIONS,
    ServiceRef,
    namespace_names,
    service_catalog,
)
from controller.sandbox.istio import istio_crds
from controller.sandbox.promstack import ManagedProcess, PrometheusProcess, PythonModuleProcess
from controller.sandbox.stack import seed

SCRAPE_INTERVAL = "5s"
SHIFTS_PATH = "/apis/weightgate.dev/v1alpha1/trafficshifts"
ISTIO = "networking.istio.io/v1"


@dataclass(frozen=True)
class ShiftShape:
    """What every benchmark TrafficShift asks for."""

    steps: tuple[int, ...] = (10, 20, 50, 100)
    interval: str = "10m"  # long enough that no shift advances while measuring
    window: str = "1m"


def namespaces_for(services: int, per_namespace: int) -> int:
    return max(1, math.ceil(services / per_namespace))


def _namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _virtual_service(service: ServiceRef) -> dict[str, Any]:
    stable = {"destination": {"host": service.name, "subset": STABLE_VERSION}, "weight": 100}
    return {
        "apiVersion": ISTIO,
        "kind": "VirtualService",
        "metadata": {"name": service.name, "namespace": service.namespace},
        "spec": {"hosts": [service.name], "http": [{"route": [stable]}]},
    }


def _destination_rule(service: ServiceRef) -> dict[str, Any]:
    subsets = [{"name": v, "labels": {"version": v}} for v in VERSIONS]
    return {
        "apiVersion": ISTIO,
        "kind": "DestinationRule",
        "metadata": {"name": service.name, "namespace": service.namespace},
        "spec": {"host": service.name, "subsets": subsets},
    }


def _traffic_shift(service: ServiceRef, shape: ShiftShape) -> dict[str, Any]:
    # Three builtin gates with thresholds the exporter's healthy traffic passes comfortably.
    gates = [
        {"name": "error-rate", "max": 1},
        {"name": "latency-p99", "max": 500},
        {"name": "latency-p90", "max": 300},
    ]
    return {
        "apiVersion": "weightgate.dev/v1alpha1",
        "kind": "TrafficShift",
        "metadata": {"name": service.name, "namespace": service.namespace},
        "spec": {
            "virtualService": service.name,
            "destinationRule": service.name,
            "stable": STABLE_VERSION,
            "canary": CANARY_VERSION,
            "steps": list(shape.steps),
            "interval": shape.interval,
            "analysis": {"window": shape.window, "gates": gates},
        },
    }


def _collection_path(obj: dict[str, Any]) -> str:
    plurals = {
        "Namespace": "namespaces",
        "VirtualService": "virtualservices",
        "DestinationRule": "destinationrules",
        "TrafficShift": "trafficshifts",
    }
    version = obj["apiVersion"]
    base = f"/apis/{version}" if "/" in version else f"/api/{version}"
    namespace = obj["metadata"].get("namespace")
    scope = f"/namespaces/{namespace}" if namespace else ""
    return f"{base}{scope}/{plurals[obj['kind']]}"


class ScaleStack:
    """API + exporter + Prometheus for `services` services; ``start()``, ``stop()``."""

    def __init__(self, workdir: Path, services: int, per_namespace: int, seed: int) -> None:
        self.workdir = workdir
        self.namespaces = namespaces_for(services, per_namespace)
        self.services = service_catalog(services, self.namespaces)
        self.seed = seed
        self.kubeconfig = workdir / "kubeconfig"
        self._parts: list[ManagedProcess] = []
        self._session = requests.Session()
        self.api_url = ""
        self.prometheus_url = ""

    def _python_part(self, module: str, name: str, args: list[str]) -> PythonModuleProcess:
        part = PythonModuleProcess(module, args, self.workdir / name, name)
        self._parts.append(part)
        part.start(timeout=60)
        return part

    def start(self) -> None:
        api = self._python_part(
            "controller.sandbox.apiserver", "api", ["serve", "--host", "127.0.0.1", "--port", "0"]
        )
        self.api_url = api.url.rstrip("/")
        seed(self.api_url, [*istio_crds(), crd_manifest()])
        write_kubeconfig(self.kubeconfig, self.api_url)
        sizes = ["--services", str(len(self.services)), "--namespaces", str(self.namespaces)]
        exporter = self._python_part(
            "controller.sandbox.exporter",
            "exporter",
            [*sizes, "--port", "0", "--seed", str(self.seed)],
        )
        target = exporter.url.removeprefix("http://").rstrip("/")
        prometheus = PrometheusProcess(
            [target], self.workdir / "prometheus", interval=SCRAPE_INTERVAL
        )
        self._parts.append(prometheus)
        prometheus.start(timeout=60)
        self.prometheus_url = prometheus.url.rstrip("/")

    def create_objects(self, shape: ShiftShape) -> None:
        """Namespaces, then a VirtualService, DestinationRule and TrafficShift per service."""
        objects = [_namespace(name) for name in namespace_names(self.namespaces)]
        for service in self.services:
            objects += [_virtual_service(service), _destination_rule(service)]
        objects += [_traffic_shift(service, shape) for service in self.services]
        for obj in objects:
            response = self._session.post(
                self.api_url + _collection_path(obj), json=obj, timeout=30
            )
            if response.status_code not in (200, 201):
                meta = obj["metadata"]
                raise RuntimeError(
                    f"the sandbox API refused {obj['kind']} {meta.get('namespace', '')}/"
                    f"{meta['name']}: HTTP {response.status_code}: {response.text[:300]}"
                )

    def shifts(self) -> list[dict[str, Any]]:
        response = self._session.get(self.api_url + SHIFTS_PATH, timeout=60)
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def phase_counts(self) -> dict[str, int]:
        phases = Counter((s.get("status") or {}).get("phase", "(none)") for s in self.shifts())
        return dict(sorted(phases.items()))

    def api_requests(self) -> dict[str, int]:
        """Requests the API has served: "total" and "plural/verb" counts."""
        counts = request_counts(self.api_url)
        flat = {
            f"{plural}/{verb}": count
            for plural, verbs in counts["byResourceVerb"].items()
            for verb, count in verbs.items()
        }
        return {"total": counts["total"], **flat}

    def prometheus_self_metrics(self) -> str:
        response = self._session.get(self.prometheus_url + "/metrics", timeout=30)
        response.raise_for_status()
        return response.text

    def stop(self) -> None:
        """Stop every part, newest first; keeps going past a part that fails to stop."""
        self._session.close()
        failures: list[str] = []
        for part in reversed(self._parts):
            try:
                part.stop()
            except Exception as exc:
                failures.append(f"{part.name}: {exc}")
        self._parts.clear()
        if failures:
            raise RuntimeError("some benchmark processes did not stop: " + "; ".join(failures))
