"""Built-in kinds through their usual clients, including kubectl's protobuf-encoded creates."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from .conftest import Kubectl


def test_default_namespace_exists_at_start(core: client.CoreV1Api) -> None:
    assert core.read_namespace("default").status.phase == "Active"


def test_kubectl_create_commands_send_protobuf_that_the_server_decodes(
    kubectl: Kubectl, core: client.CoreV1Api
) -> None:
    """kubectl create ns|configmap|secret|serviceaccount use protobuf bodies since 1.31."""
    kubectl.run("create", "namespace", "proto-ns")
    kubectl.run("create", "configmap", "cm", "-n", "proto-ns", "--from-literal=a=b")
    kubectl.run("create", "secret", "generic", "sec", "-n", "proto-ns", "--from-literal=pw=x")
    kubectl.run("create", "serviceaccount", "bot", "-n", "proto-ns")
    assert core.read_namespace("proto-ns").metadata.labels == {
        "kubernetes.io/metadata.name": "proto-ns"
    }
    assert core.read_namespaced_config_map("cm", "proto-ns").data == {"a": "b"}
    secret = core.read_namespaced_secret("sec", "proto-ns")
    assert base64.b64decode(secret.data["pw"]) == b"x"
    assert secret.type == "Opaque"
    assert core.read_namespaced_service_account("bot", "proto-ns").metadata.name == "bot"


def test_a_protobuf_kind_the_sandbox_cannot_decode_is_415_with_advice(
    kubectl: Kubectl, namespace: str
) -> None:
    result = kubectl.run(
        "create", "deployment", "web", "--image=nginx", "-n", namespace, check=False
    )
    assert result.returncode != 0
    assert "send this Deployment as JSON" in result.stderr


def test_secret_string_data_is_stored_as_base64_data(
    core: client.CoreV1Api, namespace: str
) -> None:
    created = core.create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name="s"), string_data={"token": "abc"}),
    )
    assert created.data == {"token": base64.b64encode(b"abc").decode()}
    assert created.string_data is None


def test_leases_and_events_round_trip(api_client: client.ApiClient, namespace: str) -> None:
    leases = client.CoordinationV1Api(api_client)
    lease = leases.create_namespaced_lease(
        namespace,
        client.V1Lease(
            metadata=client.V1ObjectMeta(name="weightgate-leader"),
            spec=client.V1LeaseSpec(holder_identity="pod-a", lease_duration_seconds=15),
        ),
    )
    lease.spec.holder_identity = "pod-b"
    renewed = leases.replace_namespaced_lease("weightgate-leader", namespace, lease)
    assert renewed.spec.holder_identity == "pod-b"
    events = client.EventsV1Api(api_client)
    events.create_namespaced_event(
        namespace,
        client.EventsV1Event(
            metadata=client.V1ObjectMeta(name="shift.1"),
            event_time=datetime.now(UTC),
            reason="StepAdvanced",
            note="weight 50",
            type="Normal",
            action="Advance",
            reporting_controller="weightgate",
            reporting_instance="pod-b",
            regarding=client.V1ObjectReference(kind="TrafficShift", name="reviews"),
        ),
    )
    listed = events.list_namespaced_event(namespace)
    assert [e.reason for e in listed.items] == ["StepAdvanced"]
    core_event = client.CoreV1Api(api_client).create_namespaced_event(
        namespace,
        client.CoreV1Event(
            metadata=client.V1ObjectMeta(name="shift.2"),
            reason="RolledBack",
            message="gate failed",
            involved_object=client.V1ObjectReference(kind="TrafficShift", name="reviews"),
        ),
    )
    assert core_event.reason == "RolledBack"


RBAC = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "weightgate:controller"}
rules:
- apiGroups: [networking.istio.io]
  resources: [virtualservices]
  verbs: [get, list, watch, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: weightgate}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "weightgate:controller"}
subjects:
- {kind: ServiceAccount, name: weightgate, namespace: weightgate-system}
"""


def test_rbac_objects_are_stored_as_given(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", "-", stdin=RBAC)
    role = kubectl.json("get", "clusterrole", "weightgate:controller")
    assert role["rules"] == next(iter(yaml.safe_load_all(RBAC)))["rules"]
    binding = kubectl.json("get", "clusterrolebinding", "weightgate")
    assert binding["roleRef"]["name"] == "weightgate:controller"


def test_invalid_names_are_422(core: client.CoreV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map(
            namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="Bad_Name"))
        )
    assert caught.value.status == 422
    assert "RFC 1123" in caught.value.body


def test_generate_name_gets_a_unique_suffix(core: client.CoreV1Api, namespace: str) -> None:
    first = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(generate_name="run-"))
    )
    second = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(generate_name="run-"))
    )
    assert first.metadata.name.startswith("run-")
    assert first.metadata.name != second.metadata.name


def test_kubectl_get_all_lists_deployments_and_services(kubectl: Kubectl, namespace: str) -> None:
    """The "all" category covers pods, services and deployments, as on a real cluster."""
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]},
            },
        },
    }
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(manifest))
    listed = kubectl.run("get", "all", "-n", namespace).stdout
    assert "deployment.apps/web" in listed
