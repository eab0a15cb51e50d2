"""The controller Deployment: two replicas for leader election, probes on the metrics port, bounded
resources, a restricted security context, and mounts where the shipped settings look."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.unit.deploy.conftest import Rendered

CONFIG_PATH = "/etc/weightgate/controller.yaml"
RESTRICTED_CONTAINER = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _settings(rendered: Rendered) -> dict[str, Any]:
    text = rendered.one("ConfigMap", "weightgate-settings")["data"]["controller.yaml"]
    return dict(yaml.safe_load(text))


def _quantity(value: str) -> float:
    """CPU in cores or memory in bytes, for the few suffixes used here."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)


def _mounts(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["mountPath"]: m for m in container["volumeMounts"]}


def _volumes(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}


def test_two_replicas_and_a_rollout_that_keeps_one_running(deployment: dict[str, Any]) -> None:
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_standby_prefers_another_node(deployment: dict[str, Any]) -> None:
    anti = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    term = anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


def test_container_security_context_is_restricted(container: dict[str, Any]) -> None:
    assert container["securityContext"] == RESTRICTED_CONTAINER


def test_pod_security_context_is_restricted(deployment: dict[str, Any]) -> None:
    pod = deployment["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] == 10001
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}


def test_probes_hit_healthz_and_readyz_on_the_settings_metrics_port(
    rendered: Rendered, container: dict[str, Any]
) -> None:
    port = _settings(rendered)["metrics_port"]
    assert container["ports"] == [{"name": "metrics", "containerPort": port, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}


def test_requests_and_limits_are_set_with_limits_above_requests(container: dict[str, Any]) -> None:
    resources = container["resources"]
    for resource in ("cpu", "memory"):
        request = _quantity(resources["requests"][resource])
        limit = _quantity(resources["limits"][resource])
        assert 0 < request <= limit, f"{resource}: request {request}, limit {limit}"


def test_runs_the_controller_with_the_mounted_settings(
    rendered: Rendered, deployment: dict[str, Any], container: dict[str, Any]
) -> None:
    assert container["args"] == ["controller", "--config", CONFIG_PATH]
    mount = _mounts(container)[CONFIG_PATH]
    assert mount["subPath"] == "controller.yaml"
    volume = _volumes(deployment)[mount["name"]]
    settings_map = rendered.one("ConfigMap", "weightgate-settings")
    assert volume["configMap"]["name"] == settings_map["metadata"]["name"]


def test_gate_profiles_are_mounted_where_the_settings_say(
    rendered: Rendered, deployment: dict[str, Any], container: dict[str, Any]
) -> None:
    profiles_dir = str(Path(_settings(rendered)["gate_profiles_dir"]))
    mount = _mounts(container)[profiles_dir]
    assert mount["readOnly"] is True
    volume = _volumes(deployment)[mount["name"]]
    profiles_map = rendered.one("ConfigMap", "weightgate-gate-profiles")
    assert volume["configMap"]["name"] == profiles_map["metadata"]["name"]


def test_tmp_is_a_writable_empty_dir(deployment: dict[str, Any], container: dict[str, Any]) -> None:
    """The root filesystem is read-only; /tmp is the one place a library may write."""
    mount = _mounts(container)["/tmp"]
    assert "emptyDir" in _volumes(deployment)[mount["name"]]
    assert not mount.get("readOnly", False)


def test_pod_knows_its_name_and_namespace_for_leader_election(container: dict[str, Any]) -> None:
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"]}
    assert env == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}


def test_pod_runs_as_the_weightgate_service_account_outside_the_mesh(
    deployment: dict[str, Any],
) -> None:
    template = deployment["spec"]["template"]
    assert template["spec"]["serviceAccountName"] == "weightgate"
    assert template["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"
