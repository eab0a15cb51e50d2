"""`kubectl apply -k deploy/` works against an API server: the sandbox's Kubernetes API
stand-in with the real kubectl. deploy/core as a server-side dry run, then for real and again
with nothing to change; the whole base (with deploy/monitoring) once the Prometheus Operator's
ServiceMonitor and PrometheusRule kinds are served, as on a cluster with the operator
(test_monitoring.py checks those objects' content)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from controller.sandbox.apiserver import ApiServer, write_kubeconfig
from tests.unit.deploy.conftest import DEPLOY, NAMESPACE, REPO, Rendered

CORE = str(DEPLOY / "core")
Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def sandbox_kubectl(kubectl: str, tmp_path: Path) -> Iterator[Kubectl]:
    """kubectl against a fresh sandbox API server, stopped when the test ends."""
    server = ApiServer().start()
    try:
        config = write_kubeconfig(tmp_path / "kubeconfig", server.url)

        def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
            argv = [kubectl, "--kubeconfig", str(config), "--cache-dir", str(tmp_path / "cache")]
            return subprocess.run(
                [*argv, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
            )

        yield run
    finally:
        server.stop()


def _applied(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    return dict(line.split(" ", 1) for line in result.stdout.splitlines())


def test_server_side_dry_run_accepts_every_object(sandbox_kubectl: Kubectl, core: Rendered) -> None:
    """As a real API server does, the dry run needs the namespace to exist already."""
    namespace = yaml.safe_dump(core.one("Namespace"))
    _applied(sandbox_kubectl("apply", "-f", "-", stdin=namespace))
    outcome = _applied(sandbox_kubectl("apply", "--dry-run=server", "-k", CORE))
    assert len(outcome) == len(core.objects)
    assert set(outcome.values()) <= {"created (server dry run)", "unchanged (server dry run)"}
    crds = sandbox_kubectl("get", "crd", "-o", "name")
    assert "trafficshifts" not in crds.stdout, "a dry run must not create the CRD"


def test_apply_twice_changes_nothing_the_second_time(sandbox_kubectl: Kubectl) -> None:
    first = _applied(sandbox_kubectl("apply", "-k", CORE))
    assert set(first.values()) == {"created"}
    second = _applied(sandbox_kubectl("apply", "-k", CORE))
    assert set(second.values()) == {"unchanged"}
    deployment = sandbox_kubectl("-n", NAMESPACE, "get", "deployment", "weightgate-controller")
    assert deployment.returncode == 0, deployment.stderr


def test_the_deployed_crd_serves_the_sample_trafficshift(sandbox_kubectl: Kubectl) -> None:
    """After `apply -k deploy/core`, a TrafficShift is validated by our schema."""
    _applied(sandbox_kubectl("apply", "-k", CORE))
    _applied(sandbox_kubectl("create", "namespace", "bookinfo"))
    sample = REPO / "config" / "samples" / "bookinfo-reviews-v3.yaml"
    outcome = _applied(sandbox_kubectl("apply", "--dry-run=server", "-f", str(sample)))
    assert list(outcome.values()) == ["created (server dry run)"]
    broken = sample.read_text(encoding="utf-8").replace("steps: [50, 100]", "steps: fifty")
    rejected = sandbox_kubectl("apply", "--dry-run=server", "-f", "-", stdin=broken)
    assert rejected.returncode != 0
    assert "spec.steps" in rejected.stderr


def _operator_crd(kind: str, plural: str) -> dict[str, object]:
    """A stand-in for one Prometheus Operator CRD, as a cluster with the operator serves it
    (its real schema is not ours to copy; any object of the kind is accepted)."""
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.monitoring.coreos.com"},
        "spec": {
            "group": "monitoring.coreos.com",
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def test_the_whole_base_applies_where_the_prometheus_operator_is_installed(
    sandbox_kubectl: Kubectl,
) -> None:
    """`kubectl apply -k deploy/` (core and monitoring) on an API server that serves the
    operator's ServiceMonitor and PrometheusRule kinds."""
    crds = [
        _operator_crd("ServiceMonitor", "servicemonitors"),
        _operator_crd("PrometheusRule", "prometheusrules"),
    ]
    _applied(sandbox_kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(crds)))
    outcome = _applied(sandbox_kubectl("apply", "-k", str(DEPLOY)))
    assert set(outcome.values()) == {"created"}
    kinds = {name.split("/", 1)[0] for name in outcome}
    assert {
        "servicemonitor.monitoring.coreos.com",
        "prometheusrule.monitoring.coreos.com",
        "deployment.apps",
    } <= kinds, kinds
