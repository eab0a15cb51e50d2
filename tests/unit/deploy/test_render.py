"""`kubectl kustomize deploy/` renders the objects an SRE applies, each valid for its API."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest

from controller.api.crd import crd_manifest
from tests.unit.deploy.conftest import NAMESPACE, REPO, Rendered, import_tool

KUBERNETES_VERSION = "1.32"  # the kubectl on the dev machines and in CI
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}  # no schema ships for these

EXPECTED = {
    ("Namespace", "weightgate-system"),
    ("CustomResourceDefinition", "trafficshifts.weightgate.dev"),
    ("ServiceAccount", "weightgate"),
    ("ClusterRole", "weightgate-controller"),
    ("ClusterRoleBinding", "weightgate-controller"),
    ("Role", "weightgate-controller"),
    ("RoleBinding", "weightgate-controller"),
    ("ConfigMap", "weightgate-settings"),
    ("ConfigMap", "weightgate-gate-profiles"),
    ("ConfigMap", "weightgate-grafana-dashboard"),
    ("Deployment", "weightgate-controller"),
    ("Service", "weightgate-metrics"),
    ("ServiceMonitor", "weightgate"),
    ("PrometheusRule", "weightgate"),
}


def _base_name(obj: dict[str, Any]) -> str:
    """The name without kustomize's ConfigMap hash suffix."""
    name = str(obj["metadata"]["name"])
    for generated in ("weightgate-settings", "weightgate-gate-profiles"):
        if name.startswith(f"{generated}-"):
            return generated
    return name


def _identity(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def _validate(obj: dict[str, Any]) -> None:
    validator = import_tool("kubernetes_validate", "pip install kubernetes-validate")
    validator.validate(obj, KUBERNETES_VERSION, strict=True)


def test_renders_exactly_the_expected_objects(rendered: Rendered) -> None:
    names = [(o["kind"], _base_name(o)) for o in rendered.objects]
    assert len(names) == len(set(names)), f"duplicate objects: {names}"
    assert set(names) == EXPECTED


def test_core_is_everything_but_the_monitoring_objects(rendered: Rendered, core: Rendered) -> None:
    """deploy/ = deploy/core + deploy/monitoring, and core needs no Prometheus Operator CRD."""
    monitoring = {*OPERATOR_KINDS, "weightgate-grafana-dashboard"}
    expected = [o for o in rendered.objects if not {o["kind"], o["metadata"]["name"]} & monitoring]
    assert sorted(core.objects, key=_identity) == sorted(expected, key=_identity)


def test_every_namespaced_object_is_in_weightgate_system(rendered: Rendered) -> None:
    """Generated ConfigMaps too: without a namespace they would land in kubectl's current one."""
    for obj in rendered.objects:
        namespace = obj["metadata"].get("namespace")
        expected = None if obj["kind"] in CLUSTER_SCOPED else NAMESPACE
        assert namespace == expected, f"{obj['kind']}/{obj['metadata']['name']}: {namespace}"


def test_generated_configmaps_roll_the_pods_but_the_dashboard_keeps_its_name(
    rendered: Rendered,
) -> None:
    names = {o["metadata"]["name"] for o in rendered.of_kind("ConfigMap")}
    assert "weightgate-grafana-dashboard" in names
    hashed = names - {"weightgate-grafana-dashboard"}
    assert all(len(n.rsplit("-", 1)[1]) == 10 for n in hashed), hashed


@pytest.mark.parametrize("kind", sorted(k for k, _ in EXPECTED if k not in OPERATOR_KINDS))
def test_builtin_objects_validate_against_the_kubernetes_schema(
    rendered: Rendered, kind: str
) -> None:
    """Strict: an unknown or misspelt field fails, as `kubectl apply` with validation would."""
    for obj in rendered.of_kind(kind):
        _validate(obj)


def test_the_schema_check_catches_a_misspelt_field(rendered: Rendered) -> None:
    """Guards the check above: strict validation must reject what a real API server rejects."""
    validator = import_tool("kubernetes_validate", "pip install kubernetes-validate")
    broken = copy.deepcopy(rendered.one("Deployment", "weightgate-controller"))
    context = broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    context["readOnlyRootFileSystem"] = context.pop("readOnlyRootFilesystem")
    with pytest.raises(validator.ValidationError, match="readOnlyRootFileSystem"):
        validator.validate(broken, KUBERNETES_VERSION, strict=True)


def test_rendered_crd_is_the_one_generated_from_the_models(rendered: Rendered) -> None:
    """kustomize adds labels only; spec (schema, names, printer columns) is untouched."""
    crd = rendered.one("CustomResourceDefinition")
    generated = crd_manifest()
    assert crd["spec"] == generated["spec"]
    assert crd["metadata"]["name"] == generated["metadata"]["name"]


def test_image_tag_is_the_project_version(container: dict[str, Any]) -> None:
    """The image is named `weightgate` so `kustomize edit set image weightgate=REGISTRY/...`
    finds it, and tagged with the version in pyproject.toml."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert container["image"] == f"weightgate:{project['version']}"
